"""业务指导 (R1) in headless Chromium: a reader browses the category tabs,
searches and opens an article; the leader writes an article, uploads an
attachment with a Chinese name, publishes it, and a reader finds it.
Screenshots: docs/images/guidance-list.png, guidance-edit.png."""
from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_home_map import IMAGES, Session, browser  # noqa: F401  (module fixture)

pytestmark = pytest.mark.e2e
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture()
def session(browser, live_server):  # noqa: F811
    s = Session(browser, live_server.url)
    yield s
    s.close()


def test_browse_and_search(session, passwords):
    s, page = session, session.page
    s.login("acceptor", passwords["demo"])
    page.goto(s.base + "/guidance/")
    page.wait_for_selector("#article-list .article-item")
    first = page.locator("#article-list .article-item").first
    assert first.locator(".pinned").count() == 1                      # pinned first
    page.click("#category-tabs a[data-code=policy]")
    page.wait_for_selector("#subcategories")
    page.click("#subcategories a[data-code=policy_standard]")
    page.wait_for_selector("#subcategories a.active[data-code=policy_standard]")
    assert "GB/T 30428" in page.inner_text("#article-list")
    assert "行业动态" not in page.inner_text("#article-list .badge.text-bg-secondary >> nth=0")

    page.goto(s.base + "/guidance/")
    page.fill("#f-q", "占道经营")
    page.click("#btn-search")
    page.wait_for_selector("#article-list mark")
    assert "按相关度排序" in page.inner_text("#result-count")
    marks = page.locator("#article-list mark").all_inner_texts()
    assert marks and all(m == "占道经营" for m in marks)
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "guidance-list.png"), full_page=True)

    title = page.locator("#article-list .article-item a.title").first.inner_text()
    page.locator("#article-list .article-item a.title").first.click()
    page.wait_for_selector("#article-body")
    assert page.inner_text("#article-title") == title
    assert s.foreign_requests() == []


def test_leader_writes_and_publishes_with_attachment(session, passwords, tmp_path, browser, live_server):  # noqa: F811
    s, page = session, session.page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    s.login("leader", passwords["demo"])
    page.goto(s.base + "/guidance/")
    page.click("#btn-new-article")
    page.wait_for_selector("#editor")
    tok = "E2E" + uuid.uuid4().hex[:6].upper()
    title = f"西平县城区井盖巡查工作指引（{tok}）"
    page.fill("#f-title", title)
    page.select_option("#f-category", "training")
    page.fill("#f-source", "西平县数字化城市管理监督指挥中心")
    page.fill("#f-doc-no", "西数城〔2026〕2号")
    page.fill("#f-effective", "2026-03-01")
    page.fill("#f-summary", "监督员按单元网格巡查井盖，发现缺失、破损立即上报。")
    page.fill("#f-body", "## 巡查要求\n\n- 每日巡查一次主次干道井盖；\n- 发现**井盖缺失**先设警示再上报。\n")
    page.check("#role-supervisor")
    page.check("#role-acceptor")
    assert page.locator("#f-file").is_disabled()
    page.click("#btn-save")
    page.wait_for_function("() => document.getElementById('status-badge').textContent.includes('草稿')")
    assert "/edit" in page.url and "/guidance/articles/" in page.url

    pdf = tmp_path / "井盖巡查记录表.pdf"
    pdf.write_bytes(PDF)
    page.set_input_files("#f-file", str(pdf))
    page.click("#btn-upload")
    page.wait_for_selector("#attachment-list li")
    assert "井盖巡查记录表.pdf" in page.inner_text("#attachment-list")
    # A fake file is refused with the gate's Chinese message.
    fake = tmp_path / "伪装.pdf"
    fake.write_bytes(b"not really a pdf")
    page.set_input_files("#f-file", str(fake))
    page.click("#btn-upload")
    page.wait_for_selector("#msg .alert-danger")
    assert "不符" in page.inner_text("#msg")
    assert page.locator("#attachment-list li").count() == 1
    page.screenshot(path=str(IMAGES / "guidance-edit.png"), full_page=True)

    page.click("#btn-publish")
    page.wait_for_function("() => document.getElementById('status-badge').textContent.includes('已发布')")
    assert page.locator("#btn-withdraw").is_visible() and not page.locator("#btn-delete").is_visible()
    page.click("#btn-view")
    page.wait_for_selector("#article-body")
    assert page.inner_text("#article-title") == title
    assert "井盖缺失" in page.inner_text("#article-body strong")
    with page.expect_download() as dl:
        page.click("#attachments a")
    assert dl.value.suggested_filename == "井盖巡查记录表.pdf"
    assert s.foreign_requests() == []

    # A reader in one of the chosen roles finds it by a phrase from the body.
    reader = Session(browser, live_server.url)
    try:
        reader.login("acceptor", passwords["demo"])
        reader.page.goto(reader.base + "/guidance/?q=" + tok)
        reader.page.wait_for_selector("#article-list .article-item")
        assert title in reader.page.inner_text("#article-list")
        reader.page.goto(reader.base + "/guidance/?q=设警示再上报")
        assert tok in reader.page.inner_text("#article-list")
    finally:
        reader.close()
