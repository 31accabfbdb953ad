"""What each emergency resource (R117) holds and how its input is checked:
one field table per resource, read by the generic CRUD in emergency.py.
Errors are GeoErrors with stable codes and Chinese messages."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from geoalchemy2.shape import from_shape
from sqlalchemy import text

from geo.errors import GeoError
from geo.geocode import county_outline
from geo.geometry import validate_geometry
from webapp.lifeline.emergency_models import (EmergencyDocument, EmergencyExpert, EmergencyMaterial,
                                              EmergencyPerson, EmergencyTeam)

SPECIALTIES = {"gas": "燃气抢修", "water": "供水抢修", "drainage": "排水防汛", "heating": "热力抢修",
               "bridge": "桥梁养护", "fire": "消防救援", "medical": "医疗救护", "power": "电力抢修",
               "general": "综合救援"}
INDUSTRIES = {"gas": "燃气", "water": "供水", "drainage": "排水", "heating": "供热", "bridge": "桥梁",
              "fire": "消防", "structure": "建筑结构", "chemical": "危险化学品", "geology": "地质灾害",
              "medical": "医疗卫生"}
DOC_KINDS = {"regulation": "法律法规", "plan": "应急预案"}
DOC_CATEGORIES = {
    "regulation": {"law": "法律", "admin_reg": "行政法规", "dept_rule": "部门规章", "local": "地方性法规及规章",
                   "standard": "标准规范", "normative": "规范性文件"},
    "plan": {"general": "总体应急预案", "special": "专项应急预案", "department": "部门应急预案",
             "enterprise": "企业应急预案", "site": "现场处置方案"},
}
MATERIAL_TYPES = {"material": "应急物资", "equipment": "应急装备"}
MATERIAL_CATEGORIES = {"flood": "防汛物资", "rescue": "抢险救援", "gas": "燃气抢修", "water": "供水抢修",
                       "power": "电力照明", "detection": "检测仪器", "protection": "个人防护",
                       "medical": "医疗救护", "living": "生活保障", "traffic": "交通管制"}
_PHONE = re.compile(r"^[0-9][0-9\- ]{4,19}$")


@dataclass(frozen=True)
class F:
    label: str
    kind: str = "str"          # str | text | int | num | date | choice | dept | team | phone
    required: bool = False
    max_len: int = 80
    choices: dict | None = None
    lo: float = 0
    hi: float = 1e9


@dataclass(frozen=True)
class Resource:
    name: str                  # URL segment
    label: str
    model: type
    fields: dict[str, F]
    point: str | None = None   # "required" | "optional" | None: lon/lat stored in geom
    filters: tuple[str, ...] = ()
    search: tuple[str, ...] = ("name",)
    order: str = "id"


RESOURCES = {r.name: r for r in (
    Resource("teams", "应急队伍", EmergencyTeam, {
        "dept_code": F("所属部门", "dept", True), "name": F("队伍名称", required=True),
        "leader": F("负责人", required=True, max_len=40), "phone": F("联系电话", "phone", True),
        "members_count": F("队员人数", "int", True, hi=10000), "specialty": F("专业类别", "choice", True,
                                                                           choices=SPECIALTIES),
        "base_name": F("驻地", required=True, max_len=120), "description": F("说明", "text", max_len=1000)},
        point="required", filters=("dept_code", "specialty"), search=("name", "leader", "base_name")),
    Resource("people", "应急人员", EmergencyPerson, {
        "team_id": F("所属队伍", "team"), "dept_code": F("所属部门", "dept", True),
        "name": F("姓名", required=True, max_len=40), "role": F("职务/岗位", required=True, max_len=40),
        "phone": F("联系电话", "phone", True), "skills": F("专业技能", max_len=200)},
        filters=("dept_code", "team_id"), search=("name", "role", "skills")),
    Resource("experts", "应急专家", EmergencyExpert, {
        "name": F("姓名", required=True, max_len=40), "industry": F("行业", "choice", True, choices=INDUSTRIES),
        "title": F("职称", required=True, max_len=40), "org": F("工作单位", required=True, max_len=120),
        "phone": F("联系电话", "phone", True), "speciality": F("专长", max_len=200)},
        point="optional", filters=("industry",), search=("name", "org", "speciality")),
    Resource("documents", "法规预案", EmergencyDocument, {
        "kind": F("文档类型", "choice", True, choices=DOC_KINDS), "category": F("分类", "choice", True),
        "title": F("标题", required=True, max_len=200), "doc_no": F("文号/编号", max_len=80),
        "issuer": F("发布单位", max_len=120), "issued_on": F("发布日期", "date"),
        "summary": F("摘要", "text", max_len=4000)},
        filters=("kind", "category"), search=("title", "doc_no", "issuer"), order="issued_on DESC NULLS LAST, id"),
    Resource("materials", "物资装备", EmergencyMaterial, {
        "name": F("名称", required=True), "type": F("类型", "choice", True, choices=MATERIAL_TYPES),
        "category": F("类别", "choice", True, choices=MATERIAL_CATEGORIES),
        "quantity": F("数量", "num", True, hi=1e9), "unit": F("单位", required=True, max_len=10),
        "storage_name": F("存放地点", required=True, max_len=120), "dept_code": F("管理部门", "dept", True),
        "keeper": F("保管人", max_len=40), "phone": F("联系电话", "phone"), "expiry": F("有效期至", "date")},
        point="required", filters=("dept_code", "type", "category"), search=("name", "storage_name")),
)}


def _clean(db, res: Resource, key: str, f: F, v, body: dict):
    if v is None or (isinstance(v, str) and not v.strip()):
        if f.required:
            raise GeoError("field_missing", f"{f.label}不能为空", field=key)
        return None
    if f.kind in ("str", "text", "phone"):
        if not isinstance(v, str) or len(v.strip()) > f.max_len:
            raise GeoError("field_invalid", f"{f.label}应为不超过{f.max_len}字的文字", field=key)
        v = v.strip()
        if f.kind == "phone" and not _PHONE.match(v):
            raise GeoError("phone_invalid", f"{f.label}“{v}”格式不正确", field=key)
        return v
    if f.kind == "int":
        if not isinstance(v, int) or isinstance(v, bool) or not f.lo <= v <= f.hi:
            raise GeoError("field_invalid", f"{f.label}应为 {f.lo:.0f}–{f.hi:.0f} 的整数", field=key)
        return v
    if f.kind == "num":
        try:
            d = Decimal(str(v))
        except InvalidOperation:
            d = Decimal(-1)
        if isinstance(v, bool) or not d.is_finite() or not f.lo <= d <= Decimal(str(f.hi)):
            raise GeoError("field_invalid", f"{f.label}应为不小于 {f.lo:.0f} 的数值", field=key)
        return d.quantize(Decimal("0.01"))
    if f.kind == "date":
        try:
            return dt.date.fromisoformat(v)
        except (TypeError, ValueError):
            raise GeoError("date_invalid", f"{f.label}应为日期，如 2026-12-01", field=key) from None
    if f.kind == "choice":
        choices = f.choices if f.choices is not None else DOC_CATEGORIES.get(body.get("kind"), {})
        if v not in choices:
            raise GeoError("choice_invalid", f"{f.label}“{v}”无效，可选：{'、'.join(f'{k}（{n}）' for k, n in choices.items())}",
                           field=key)
        return v
    if f.kind == "dept":
        if not isinstance(v, str) or not db.execute(text("SELECT 1 FROM admin.department WHERE code = :c"),
                                                    {"c": v}).first():
            raise GeoError("dept_unknown", f"部门 {v} 不存在", field=key)
        return v
    if f.kind == "team":
        if not isinstance(v, int) or isinstance(v, bool) or db.get(EmergencyTeam, v) is None:
            raise GeoError("team_unknown", f"应急队伍 {v} 不存在", field=key)
        return v
    raise AssertionError(f.kind)


def clean_body(db, res: Resource, body, partial: bool) -> dict:
    """Checked values (column → value; geom as WKB element) of a create/edit body."""
    if not isinstance(body, dict):
        raise GeoError("body_invalid", "请求体应为 JSON 对象")
    allowed = set(res.fields) | {"version"} | ({"lon", "lat"} if res.point else set())
    unknown = set(body) - allowed
    if unknown:
        raise GeoError("field_unknown", f"未知字段: {', '.join(sorted(unknown))}")
    out = {}
    for key, f in res.fields.items():
        if partial and key not in body:
            continue
        out[key] = _clean(db, res, key, f, body.get(key), body)
    if res.point:
        has = [k for k in ("lon", "lat") if body.get(k) not in (None, "")]
        if len(has) == 1:
            raise GeoError("location_missing", "经度 lon 与纬度 lat 须同时提供", field="lon")
        if has:
            out["geom"] = from_shape(point_of(db, body["lon"], body["lat"]), srid=4490)
        elif res.point == "required" and not partial:
            raise GeoError("location_missing", "请在地图上选择位置（lon、lat）", field="lon")
        elif "lon" in body and res.point == "optional":
            out["geom"] = None
    return out


def point_of(db, lon, lat):
    if isinstance(lon, bool) or isinstance(lat, bool):
        raise GeoError("location_invalid", "经纬度应为数字", field="lon")
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise GeoError("location_invalid", "经纬度应为数字", field="lon") from None
    return validate_geometry({"type": "Point", "coordinates": [x, y]}, county=county_outline(db.get_bind()),
                             allowed_types=["Point"])
