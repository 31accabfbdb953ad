import pytest

from geo.codes import (
    grid_serial_order,
    make_component_code,
    make_grid_code,
    validate_class_code,
    validate_component_code,
    validate_grid_code,
    validate_region_code,
)
from geo.errors import GeoError

COMMUNITY = "411721001002"


def error_of(fn, *args, **kwargs) -> GeoError:
    with pytest.raises(GeoError) as e:
        fn(*args, **kwargs)
    return e.value


# --- region codes ---


def test_region_code_levels():
    county = validate_region_code("411721")
    assert (county.level, county.county, county.street, county.community) == ("county", "411721", None, None)
    street = validate_region_code("411721001")
    assert (street.level, street.street, street.community) == ("street", "411721001", None)
    community = validate_region_code(COMMUNITY, level="community")
    assert (community.level, community.county, community.street) == ("community", "411721", "411721001")


@pytest.mark.parametrize(
    "code, level, fragment",
    [
        ("41172a", None, "非数字字符“a”"),
        (411721, None, "数字字符串"),
        ("", None, "为空"),
        ("4117210", None, "实际为7位"),
        ("411721001", "community", "应为12位数字，实际为9位"),
        ("411700", None, "地级市"),
        ("411721000", None, "街道（乡镇）代码不能为000"),
        ("411721001000", None, "9位代码411721001"),
    ],
)
def test_region_code_invalid(code, level, fragment):
    e = error_of(validate_region_code, code, level)
    assert e.code == "region_code_invalid"
    assert fragment in e.message


# --- unit grid codes ---


def test_make_and_validate_grid_code():
    code = make_grid_code(COMMUNITY, 7)
    assert code == "411721001002007"
    parsed = validate_grid_code(code)
    assert (parsed.county, parsed.street, parsed.community, parsed.serial, parsed.legacy) == (
        "411721", "411721001", COMMUNITY, 7, False
    )
    assert make_grid_code(COMMUNITY, 999).endswith("999")


def test_legacy_grid_code_is_read_and_flagged():
    parsed = validate_grid_code("41172100100212")
    assert parsed.legacy is True and parsed.serial == 12 and parsed.community == COMMUNITY


def test_legacy_grid_code_refused_when_not_allowed():
    e = error_of(validate_grid_code, "41172100100212", allow_legacy=False)
    assert e.code == "grid_code_invalid" and "实际为14位" in e.message


def test_grid_code_wrong_length_says_exactly():
    e = error_of(validate_grid_code, "4117210010020", allow_legacy=False)
    assert e.code == "grid_code_invalid"
    assert e.message == "单元网格编码应为15位数字，实际为13位"
    assert "实际为13位" in error_of(validate_grid_code, "4117210010020").message


@pytest.mark.parametrize(
    "code, fragment",
    [
        ("41172100100200A", "非数字字符“A”"),
        ("411722001002001", "应为县级区划代码411721，实际为411722"),
        ("411721001002000", "顺序码不能为000"),
        ("41172100100200", "顺序码不能为00"),
        ("411721000002001", "街道（乡镇）代码不能为000"),
        ("411721001000001", "社区（村）代码不能为000"),
    ],
)
def test_grid_code_invalid(code, fragment):
    e = error_of(validate_grid_code, code)
    assert e.code == "grid_code_invalid"
    assert fragment in e.message


def test_grid_code_other_county_when_asked():
    assert validate_grid_code("411722001002001", county="411722").county == "411722"
    assert validate_grid_code("411722001002001", county=None).serial == 1


@pytest.mark.parametrize("serial", [0, 1000, -1, True, "1"])
def test_make_grid_code_bad_serial(serial):
    assert error_of(make_grid_code, COMMUNITY, serial).code == "grid_code_invalid"


def test_make_grid_code_bad_community():
    assert error_of(make_grid_code, "411721001", 1).code == "region_code_invalid"


# --- grid serial order ---


def test_grid_serial_order_rows_north_to_south_then_west_to_east():
    # Two rows of three 100 m grids, centroids jittered by a few metres.
    centroids = [
        (250.0, 48.0),   # 0: south row, east
        (50.0, 155.0),   # 1: north row, west
        (150.0, 52.0),   # 2: south row, middle
        (250.0, 146.0),  # 3: north row, east (a little lower than its neighbours)
        (50.0, 50.0),    # 4: south row, west
        (150.0, 150.0),  # 5: north row, middle
    ]
    assert grid_serial_order(centroids, row_tolerance=30.0) == [1, 5, 3, 4, 2, 0]


def test_grid_serial_order_zero_tolerance_splits_rows():
    centroids = [(0.0, 100.0), (100.0, 101.0)]
    assert grid_serial_order(centroids, row_tolerance=30.0) == [0, 1]
    assert grid_serial_order(centroids, row_tolerance=0.0) == [1, 0]


def test_grid_serial_order_empty():
    assert grid_serial_order([], row_tolerance=10.0) == []


@pytest.mark.parametrize(
    "centroids, tolerance",
    [([(0.0, 0.0)], -1.0), ([(0.0, 0.0)], float("nan")), ([(0.0, float("inf"))], 1.0), ([("a", 1)], 1.0), ([(1.0,)], 1.0)],
)
def test_grid_serial_order_bad_input(centroids, tolerance):
    assert error_of(grid_serial_order, centroids, tolerance).code == "grid_order_invalid"


# --- class and component codes ---


def test_validate_class_code():
    c = validate_class_code("0101")
    assert (c.big_class, c.small_class) == ("01", "01")


@pytest.mark.parametrize(
    "code, fragment",
    [("101", "实际为3位"), ("01a1", "非数字字符“a”"), ("0001", "大类代码不能为00"), ("0100", "小类代码不能为00"), (101, "数字字符串")],
)
def test_class_code_invalid(code, fragment):
    e = error_of(validate_class_code, code)
    assert e.code == "class_code_invalid"
    assert fragment in e.message


def test_make_and_validate_component_code():
    code = make_component_code("0101", 1)
    assert code == "4117210101000001"
    parsed = validate_component_code(code, known_classes={"0101", "0102"})
    assert (parsed.county, parsed.big_class, parsed.small_class, parsed.class_code, parsed.serial) == (
        "411721", "01", "01", "0101", 1
    )
    assert make_component_code("0209", 999_999, county="320508") == "3205080209999999"


def test_make_component_code_errors():
    assert error_of(make_component_code, "0100", 1).code == "class_code_invalid"
    assert error_of(make_component_code, "0101", 0).code == "component_code_invalid"
    assert error_of(make_component_code, "0101", 1_000_000).code == "component_code_invalid"
    assert error_of(make_component_code, "0101", 1, county="4117").code == "region_code_invalid"


@pytest.mark.parametrize(
    "code, fragment",
    [
        ("411721010100001", "应为16位数字"),
        ("41172101010000x1", "非数字字符“x”"),
        ("3205080101000001", "应为县级区划代码411721，实际为320508"),
        ("4117210001000001", "大类代码不能为00"),
        ("4117210100000001", "小类代码不能为00"),
        ("4117210101000000", "顺序码不能为000000"),
    ],
)
def test_component_code_invalid(code, fragment):
    e = error_of(validate_component_code, code)
    assert e.code == "component_code_invalid"
    assert fragment in e.message


def test_component_class_unknown():
    e = error_of(validate_component_code, "4117210199000001", known_classes={"0101", "0102"})
    assert e.code == "component_class_unknown"
    assert "0199" in e.message
    # Without a catalogue the same code is structurally fine.
    assert validate_component_code("4117210199000001").class_code == "0199"
