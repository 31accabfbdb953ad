"""Seeded, deterministic demo data for the county town of 西平县 (411721).

``generate(scale, seed)`` returns a :class:`Dataset` of plain Python data:
lists of dicts whose geometries are shapely objects in EPSG:4490 (x = lon,
y = lat), plus one columnar dict of numpy arrays for the management
components.  The same ``seed`` and ``scale`` give byte-identical output
(``Dataset.digest()``); only the component count grows with ``scale``.

How the town is built (all in metres, EPSG:4547, CGCS2000 3-degree GK CM 114E,
x = easting, y = northing, relative to the town centre 114.02E 33.38N):

* a lattice of ~100 m cells (narrower in the core, wider at the fringe) whose
  vertices are gently warped and, where no road runs, jittered; cells share
  their vertices, so the unit grids tile the town exactly (no gaps, overlaps);
* the town outline is the lattice with its four corners cut in steps;
* roads run along lattice lines: main roads (主干路) every 6-8 cells, secondary
  roads (次干路) splitting the blocks into 2-4 cells, some branch roads (支路);
* communities are unions of road-bounded sub-blocks grown around seeds inside
  a street; streets are unions of communities; responsibility grids are
  sub-blocks (merged/split to 6-20 unit grids);
* pipe networks are the road graph translated by a per-network offset, so
  pipe ends coincide exactly with node points.  Pressure networks (water,
  gas, heating) point away from their source (水源/门站/热源).  Drainage pipes
  point downstream and deepen toward the outfall: rain pipes never cross the
  river (each bank drains to 排放口 on it), sewage reaches its single 排放口 at
  the treatment plant (crossing the river under the bridges).

Codes: the county code 411721 is real (GB/T 2260).  Street, community, grid,
department ('D001'...), road, bridge, pipe and POI codes are DEMO codes, not
official ones; real street/community codes come from the statistics bureau's
division code list.  Component class codes 0101-0112, 0201-0209, 0301, 0401,
0402 follow the spec (§3.2); the others follow one Beijing-derived
implementation catalogue or are assigned in spec order (``confirmed`` False).
Event class codes without a number in the spec are assigned after the listed
ones (``confirmed`` False).  Geography (rivers, roads, outline) is schematic.
"""
from __future__ import annotations

import hashlib
import heapq
import math
from collections import deque
from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.ops import substring

COUNTY_CODE = "411721"
COUNTY_NAME = "西平县"
TOWN_CENTRE_LONLAT = (114.02, 33.38)
COUNTY_CENTRE_LONLAT = (114.0, 33.385)
COUNTY_AREA_M2 = 1_090e6
METRIC_EPSG = 4547
STORAGE_EPSG = 4490
COMPONENTS_PER_SCALE = 50_000
MAX_SERIAL = 999_999

NCOL, NROW = 50, 44          # lattice size in cells (x, y)
JITTER_M = 10.0              # max vertex jitter off road lines
TARGET_COMMUNITIES = 21
RESP_MIN, RESP_MAX = 6, 20   # unit grids per responsibility grid
GRID_AREA_MIN, GRID_AREA_MAX = 6_300.0, 15_500.0  # m², keeps every grid within 0.6-1.6 ha

LAND_USES = ("居住", "商业", "工业", "公共服务", "绿地", "道路广场", "水域")
MGMT_LEVELS = ("一类", "二类", "三类")
GRADES = ("主干路", "次干路", "支路")
GRADE_WIDTH = {"主干路": (36, 50), "次干路": (20, 30), "支路": (12, 18)}

# --------------------------------------------------------------------------
# Code tables (spec §3.2 / §3.3)
# --------------------------------------------------------------------------
COMPONENT_BIG = {"01": "公用设施", "02": "道路交通", "03": "市容环境", "04": "园林绿化",
                 "05": "房屋土地", "06": "其他设施"}
EVENT_BIG = {"01": "市容环境", "02": "宣传广告", "03": "施工管理", "04": "突发事件", "05": "街面秩序"}

# (small code, name, code given in the spec)
_COMPONENT_SMALL = [
    ("0101", "上水井盖", True), ("0102", "污水井盖", True), ("0103", "雨水井盖", True),
    ("0104", "雨水箅子", True), ("0105", "电力井盖", True), ("0106", "路灯井盖", True),
    ("0107", "通讯井盖", True), ("0108", "电视井盖", True), ("0109", "网络井盖", True),
    ("0110", "热力井盖", True), ("0111", "燃气井盖", True), ("0112", "公安井盖", True),
    ("0113", "消火栓", False), ("0114", "无主井盖", False), ("0115", "通信交接箱", False),
    ("0116", "电力设施", False), ("0117", "电杆", False), ("0118", "路灯", False),
    ("0119", "地灯", False), ("0120", "景观灯", False), ("0121", "报刊亭", False),
    ("0122", "电话亭", False), ("0123", "邮筒", False), ("0126", "健身设施", False),
    ("0201", "停车场", True), ("0202", "停车咪表", True), ("0203", "公交站亭", True),
    ("0204", "出租车站牌", True), ("0205", "过街天桥", True), ("0206", "地下通道", True),
    ("0207", "高架立交桥", True), ("0208", "跨河桥", True), ("0209", "交通标志牌", True),
    ("0210", "交通信号灯", False), ("0211", "交通护栏", False), ("0212", "存车支架", False),
    ("0213", "路名牌", False), ("0217", "交通岗亭", False),
    ("0301", "公共厕所", True), ("0303", "公厕指示牌", False), ("0304", "垃圾间(楼)", False),
    ("0305", "垃圾箱", False), ("0306", "灯箱霓虹灯", False), ("0307", "广告牌匾", False),
    ("0308", "环境监测站", False),
    ("0401", "古树名木", True), ("0402", "行道树", True), ("0403", "护树设施", False),
    ("0404", "花架花钵", False), ("0405", "绿地", False), ("0406", "雕塑", False),
    ("0407", "街头座椅", False), ("0410", "喷泉", False),
    ("0501", "宣传栏", False), ("0502", "人防工事", False), ("0503", "公房地下室", False),
    ("0601", "重大危险源", False), ("0602", "工地", False), ("0603", "水域附属设施", False),
    ("0604", "水域护栏", False),
]
_EVENT_SMALL = [
    ("0101", "私搭乱建", True), ("0102", "暴露垃圾", True), ("0103", "积存垃圾渣土", True),
    ("0104", "道路不洁", True), ("0105", "水域不洁", True), ("0106", "绿地脏乱", True),
    ("0107", "废弃车辆", True), ("0108", "废弃家具设备", True), ("0109", "非装饰性树挂", True),
    ("0110", "道路积水", False), ("0111", "积雪结冰", False), ("0112", "焚烧垃圾树叶", False),
    ("0113", "油烟污染", False),
    ("0201", "非法小广告", True), ("0202", "违章张贴悬挂广告牌匾", True), ("0203", "占道广告牌", True),
    ("0204", "街头散发小广告", True),
    ("0301", "施工扰民", True), ("0302", "工地扬尘", True), ("0304", "道路遗撒", True),
    ("0305", "施工废弃料", True), ("0306", "无证掘路", False), ("0307", "施工占道", False),
    ("0308", "未围挡", False),
    ("0401", "路面塌陷", True), ("0402", "自来水管破裂", True), ("0403", "燃气管道破裂", True),
    ("0404", "下水道堵塞或破损", True), ("0405", "热力管道破裂", False), ("0406", "架空线缆损坏", False),
    ("0501", "无照经营游商", True), ("0502", "流浪乞讨", True), ("0503", "占道废品收购", True),
    ("0504", "店外经营", True), ("0505", "机动车乱停放", True), ("0506", "非机动车乱停放", True),
    ("0507", "乱堆物堆料", True), ("0509", "黑车拉客", True), ("0510", "露天烧烤", True),
]

# --------------------------------------------------------------------------
# Departments (demo codes)
# --------------------------------------------------------------------------
# (code, name, parent, kind)
DEPARTMENTS = [
    ("D001", "西平县人民政府", None, "government"),
    ("D002", "西平县城市管理局", "D001", "bureau"),
    ("D003", "西平县住房和城乡建设局", "D001", "bureau"),
    ("D004", "西平县自然资源局", "D001", "bureau"),
    ("D005", "西平县交通运输局", "D001", "bureau"),
    ("D006", "西平县水利局", "D001", "bureau"),
    ("D007", "西平县应急管理局", "D001", "bureau"),
    ("D008", "西平县公安局交通管理大队", "D001", "section"),
    ("D009", "西平县园林绿化中心", "D001", "section"),
    ("D010", "西平县环境卫生服务中心", "D001", "section"),
    ("D011", "西平县城市管理局市政设施管理所", "D002", "section"),
    ("D012", "西平县数字化城市管理监督指挥中心", "D002", "section"),
    ("D013", "西平县自来水公司", "D003", "utility"),
    ("D014", "西平县燃气公司", "D003", "utility"),
    ("D015", "西平县热力公司", "D003", "utility"),
    ("D016", "西平县市政排水管理所", "D003", "utility"),
    ("D017", "国网西平县供电公司", "D001", "utility"),
    ("D018", "中国电信西平分公司", "D001", "utility"),
    ("D019", "西平县广播电视网络公司", "D001", "utility"),
    ("D020", "西平县柏城街道办事处", "D001", "street_office"),
    ("D021", "西平县柏亭街道办事处", "D001", "street_office"),
    ("D022", "西平县柏苑街道办事处", "D001", "street_office"),
]
D_GOV, D_CGJ, D_ZJJ, D_ZRJ, D_JTJ, D_SLJ, D_YJJ, D_JJDD, D_YL, D_HW, D_SZS, D_SZZX = (
    "D001", "D002", "D003", "D004", "D005", "D006", "D007", "D008", "D009", "D010", "D011", "D012")
D_WATER, D_GAS, D_HEAT, D_DRAIN, D_POWER, D_TEL, D_TV = "D013", "D014", "D015", "D016", "D017", "D018", "D019"
STREET_OFFICE = {"001": "D020", "002": "D021", "003": "D022"}
STREET = "STREET"  # placeholder: the street office of the component's location
COVER_CLASSES = {f"01{i:02d}" for i in range(1, 13)} | {"0114"}

# --------------------------------------------------------------------------
# Component mix: code, weight, segment pool, grade weights (主/次/支), offset
# range (m), owner, maintainer.  Pools: 'all', 'ms' (main+secondary), or a
# pipe network name (components follow that network's roads).
# --------------------------------------------------------------------------
_MIX = [
    ("0101", 105, "water", (1.0, 1.0, 0.8), (2, 8), D_WATER, D_WATER),
    ("0102", 90, "sewage", (1.0, 1.0, 0.8), (2, 8), D_DRAIN, D_DRAIN),
    ("0103", 85, "rain", (1.0, 1.0, 0.8), (2, 8), D_DRAIN, D_DRAIN),
    ("0104", 95, "rain", (1.0, 1.0, 0.8), (2, 8), D_DRAIN, D_DRAIN),
    ("0105", 60, "all", (1.0, 0.9, 0.6), (2, 9), D_POWER, D_POWER),
    ("0106", 28, "ms", (1.0, 0.9, 0.5), (2, 9), D_SZS, D_SZS),
    ("0107", 48, "all", (1.0, 0.9, 0.6), (2, 9), D_TEL, D_TEL),
    ("0108", 16, "all", (1.0, 0.9, 0.6), (2, 9), D_TV, D_TV),
    ("0109", 16, "all", (1.0, 0.9, 0.6), (2, 9), D_TEL, D_TEL),
    ("0110", 16, "heating", (1.0, 1.0, 1.0), (2, 9), D_HEAT, D_HEAT),
    ("0111", 32, "gas", (1.0, 1.0, 0.8), (2, 9), D_GAS, D_GAS),
    ("0112", 10, "ms", (1.0, 0.7, 0.3), (2, 9), D_JJDD, D_JJDD),
    ("0113", 12, "water", (1.0, 1.0, 0.8), (8, 13), D_WATER, D_WATER),
    ("0114", 4, "all", (1.0, 1.0, 1.0), (2, 9), D_CGJ, D_SZS),
    ("0115", 8, "all", (1.0, 0.9, 0.6), (8, 14), D_TEL, D_TEL),
    ("0116", 8, "all", (1.0, 0.9, 0.6), (8, 14), D_POWER, D_POWER),
    ("0117", 18, "all", (0.6, 0.9, 1.0), (8, 14), D_POWER, D_POWER),
    ("0118", 60, "all", (1.0, 0.9, 0.7), (8, 14), D_SZS, D_SZS),
    ("0119", 3, "ms", (1.0, 0.6, 0.2), (6, 14), D_SZS, D_SZS),
    ("0120", 8, "ms", (1.0, 0.6, 0.2), (6, 14), D_SZS, D_SZS),
    ("0121", 1, "ms", (1.0, 0.6, 0.2), (10, 15), D_CGJ, D_CGJ),
    ("0122", 1, "ms", (1.0, 0.6, 0.2), (10, 15), D_TEL, D_TEL),
    ("0123", 1, "ms", (1.0, 0.6, 0.2), (10, 15), D_CGJ, D_CGJ),
    ("0126", 2, "all", (0.5, 0.8, 1.0), (10, 15), STREET, STREET),
    ("0201", 2, "all", (1.0, 1.0, 0.8), (12, 15), D_CGJ, D_CGJ),
    ("0202", 3, "ms", (1.0, 0.8, 0.0), (6, 12), D_CGJ, D_CGJ),
    ("0203", 4, "ms", (1.0, 0.6, 0.0), (10, 15), D_JTJ, D_JTJ),
    ("0204", 1, "ms", (1.0, 0.6, 0.0), (10, 15), D_JTJ, D_JTJ),
    ("0209", 22, "all", (1.0, 0.8, 0.5), (6, 14), D_JJDD, D_JJDD),
    ("0210", 5, "ms", (1.0, 0.7, 0.0), (6, 14), D_JJDD, D_JJDD),
    ("0211", 10, "ms", (1.0, 0.7, 0.0), (2, 10), D_JJDD, D_SZS),
    ("0212", 5, "all", (1.0, 1.0, 0.8), (8, 14), D_CGJ, D_CGJ),
    ("0213", 6, "all", (1.0, 1.0, 1.0), (8, 14), D_ZRJ, D_SZS),
    ("0217", 1, "ms", (1.0, 0.4, 0.0), (6, 12), D_JJDD, D_JJDD),
    ("0301", 2, "all", (0.6, 1.0, 1.0), (12, 15), D_HW, D_HW),
    ("0303", 2, "all", (0.6, 1.0, 1.0), (8, 14), D_HW, D_HW),
    ("0304", 1, "all", (0.4, 1.0, 1.0), (12, 15), D_HW, D_HW),
    ("0305", 30, "all", (1.0, 1.0, 0.8), (6, 13), D_HW, D_HW),
    ("0306", 5, "ms", (1.0, 0.8, 0.3), (10, 15), D_CGJ, D_CGJ),
    ("0307", 30, "all", (1.0, 1.0, 0.7), (10, 15), D_CGJ, D_CGJ),
    ("0401", 1, "all", (0.6, 1.0, 1.0), (8, 15), D_YL, D_YL),
    ("0402", 130, "all", (1.0, 1.0, 0.6), (6, 12), D_YL, D_YL),
    ("0403", 18, "ms", (1.0, 1.0, 0.0), (6, 12), D_YL, D_YL),
    ("0404", 3, "ms", (1.0, 0.6, 0.0), (8, 14), D_YL, D_YL),
    ("0406", 1, "ms", (1.0, 0.5, 0.0), (10, 15), D_YL, D_YL),
    ("0407", 4, "all", (1.0, 1.0, 0.5), (10, 15), D_YL, D_YL),
    ("0501", 4, "all", (0.5, 1.0, 1.0), (10, 15), STREET, STREET),
    ("0602", 1, "all", (1.0, 1.0, 1.0), (12, 15), D_ZJJ, D_ZJJ),
]

# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------
STREETS = [("001", "柏城街道"), ("002", "柏亭街道"), ("003", "柏苑街道")]
BOYUAN_VILLAGES = ["花马刘", "王店", "于楼", "芳庄", "道庄", "大李", "黄庄", "郝刘", "王茨元", "武岗", "李庄"]
BAICHENG_COMMUNITIES = ["健康路社区", "西关社区", "文化路社区", "人民路社区", "南关社区", "西大街社区",
                        "解放路社区", "棠溪社区", "嫘祖社区", "龙泉社区", "西环社区", "交通路社区"]
BAITING_COMMUNITIES = ["东关社区", "柏亭社区", "车站路社区", "建设路社区", "北关社区", "东大街社区",
                       "迎宾路社区", "滨河社区", "新华社区", "和平社区", "东环社区", "胜利社区"]
# Main roads by position relative to the central road, outward.
V_MAIN_CENTRE, V_MAIN_WEST, V_MAIN_EAST = "人民路", ["棠溪路", "嫘祖大道", "西环路", "龙泉大道"], \
    ["柏亭大道", "车站路", "东环路", "产业大道"]
H_MAIN_CENTRE, H_MAIN_NORTH, H_MAIN_SOUTH = "解放路", ["文化路", "柏苑路", "北环路", "洪河大道"], \
    ["西平大道", "建设路", "南环路", "滨河大道"]
SECONDARY_NAMES = ["健康路", "中山路", "新华路", "胜利路", "和平路", "交通路", "文明路", "团结路", "仁和路",
                   "金山路", "东大街", "西大街", "南大街", "北大街", "护城河路", "光明路", "迎宾路", "振兴路",
                   "朝阳路", "幸福路", "育才路", "学院路", "兴业路", "发展大道", "创业大道", "工业路",
                   "商贸路", "体育路", "青年路", "民主路", "友谊路", "红旗路"]
BRANCH_NAMES = ["府前街", "顺河街", "财神庙街", "东关街", "西关街", "南关街", "北关街", "公园路", "桃园路",
                "杏园路", "梨园路", "柳园路", "槐荫路", "丰收路", "庆丰路", "吉祥路", "繁荣路", "富民路",
                "乐园路", "广场路", "春晖路", "医院路", "粮站路", "棉厂路", "农机路", "卫生路", "水利路",
                "教育路", "兴隆街", "永安街", "太平街", "同心路", "康宁路", "安居路", "锦绣路", "紫荆路",
                "丁香路", "玉兰路", "海棠路", "银杏路", "石榴路", "牡丹路", "芙蓉路", "翠竹路", "宏达路",
                "金谷路", "龙源路", "仓储路", "物流路", "星光路", "明珠路", "盛世路", "和谐路", "书院街",
                "城隍庙街", "文庙街", "鼓楼街", "菜市街", "油坊街", "染坊街"]
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段")
GIVEN_CHARS = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌宇浩凯鹏飞丹亮"
                   "晨阳雪梅琳婷海波辉鑫宁蕾欣怡佳颖瑞博振东春燕俊峰新利晓红金凤永立成琴云莉彬")
ESTATE_PREFIX = ["金色", "阳光", "幸福", "锦绣", "翡翠", "柏城", "嫘祖", "棠溪", "龙泉", "和谐", "盛世", "名门",
                 "御景", "书香", "学府", "滨河", "东方", "明珠", "世纪", "新城", "柏亭", "柏苑", "丽景", "美景",
                 "福苑", "康乐", "锦华", "恒大", "建业", "润城"]
ESTATE_SUFFIX = ["小区", "花园", "家园", "苑", "名城", "佳苑", "新村", "公寓", "府", "华庭"]


# --------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------
@dataclass
class Dataset:
    """The demo data; geometries ('geom') are shapely objects in EPSG:4490 (lon, lat).

    county          dict: code, name, level='county', parent_code=None, demo_code=False, geom (MultiPolygon)
    streets         code (9 digits), name, level='street', parent_code, demo_code=True, geom (MultiPolygon)
    communities     code (12 digits), name, level='community', parent_code, demo_code=True, geom
    unit_grids      code (15), name, community_code, street_code, area_m2 (EPSG:4547), land_use,
                    mgmt_level, geom (MultiPolygon)
    roads           code 'R0001', name, grade, width_m, length_m, geom (LineString)
    rivers          code 'RV01', name, geom (LineString); ``river`` is an alias
    bridges         code 'B001', name, kind ('跨河桥'/'立交桥'), structure, length_m, width_m, spans,
                    build_year, road_code, river (name or None), maintainer_dept, geom (LineString)
    departments     code 'D001', name, parent_code, kind
    resp_grids      code (street + 'ZR' + 3), name, community_code, street_code, dept_code,
                    unit_grid_codes (list), people (list of {name, post, phone}), geom (MultiPolygon)
    components      columns (numpy arrays): code, class_code, name, status, owner_dept,
                    maintainer_dept, grid_code, address, lon, lat
    component_classes / event_classes
                    type ('部件'/'事件'), big_code, small_code, big_name, name, confirmed (code in the spec)
    addresses       code, road_code, road_name, number, full_address, community_code, grid_code, geom (Point)
    pois            code 'P00001', name, category, address, geom (Point)
    pipe_nodes      code ('WS000001', 'RS..', 'SS..', 'GS..', 'HS..'), network, kind, depth_m, status, geom
    pipes           code ('WL000001', ...), network, diameter_mm, material, pressure_class, depth_m,
                    install_year, from_node, to_node, owner_dept, road_code, length_m, geom (LineString)
    risk_points     code 'RP0001', name, category, network (or None), level (1-4), description, dept_code, geom
    meta            seed, scale, srid, metric_srid, county_code, town_centre, demo_codes, note
    """

    county: dict
    streets: list
    communities: list
    unit_grids: list
    roads: list
    rivers: list
    bridges: list
    departments: list
    resp_grids: list
    components: dict
    component_classes: list
    event_classes: list
    addresses: list
    pois: list
    pipe_nodes: list
    pipes: list
    risk_points: list
    meta: dict

    @property
    def river(self) -> list:
        """Alias of ``rivers``."""
        return self.rivers

    def counts(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "components":
                out[f.name] = len(v["code"])
            elif isinstance(v, list):
                out[f.name] = len(v)
        return out

    def digest(self) -> str:
        """SHA-256 over a canonical serialisation of every field."""
        h = hashlib.sha256()
        for f in fields(self):
            h.update(f.name.encode())
            _feed(h, getattr(self, f.name))
        return h.hexdigest()


def _feed(h, v) -> None:
    if isinstance(v, dict):
        h.update(b"{")
        for k in v:
            h.update(repr(k).encode())
            _feed(h, v[k])
        h.update(b"}")
    elif isinstance(v, (list, tuple)):
        h.update(b"[")
        for x in v:
            _feed(h, x)
        h.update(b"]")
    elif isinstance(v, np.ndarray):
        h.update(str(v.dtype).encode() + str(v.shape).encode())
        h.update(np.ascontiguousarray(v).tobytes())
    elif isinstance(v, shapely.Geometry):
        h.update(shapely.to_wkb(v))
    else:
        h.update(repr(v).encode())


# --------------------------------------------------------------------------
# CRS helpers
# --------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{src}", f"EPSG:{dst}", always_xy=True)


class _Frame:
    """Local metric frame: EPSG:4547 shifted so the town centre is (0, 0)."""

    def __init__(self):
        self.e0, self.n0 = _transformer(STORAGE_EPSG, METRIC_EPSG).transform(*TOWN_CENTRE_LONLAT)
        self._fwd = _transformer(METRIC_EPSG, STORAGE_EPSG)

    def lonlat(self, x, y):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        lon, lat = self._fwd.transform(x + self.e0, y + self.n0)
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)

    def local(self, lon, lat):
        e, n = _transformer(STORAGE_EPSG, METRIC_EPSG).transform(lon, lat)
        return np.asarray(e) - self.e0, np.asarray(n) - self.n0

    def geom(self, g):
        """Local-metre shapely geometry -> EPSG:4490 geometry."""
        def f(c):
            lon, lat = self.lonlat(c[:, 0], c[:, 1])
            return np.column_stack([lon, lat])
        return shapely.transform(g, f)


def _multi(g):
    if g.geom_type == "Polygon":
        return MultiPolygon([g])
    if g.geom_type == "MultiPolygon":
        return g
    raise ValueError(f"unexpected geometry {g.geom_type}")


# --------------------------------------------------------------------------
# The town model
# --------------------------------------------------------------------------
class _Town:
    """Everything in local metres; built step by step by ``generate``."""

    def __init__(self, seed: int):
        self.seed = seed
        self.frame = _Frame()

    def rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, stream])

    # ---- lattice ---------------------------------------------------------
    def build_lattice(self):
        rng = self.rng(1)
        self.v_main, self.v_sec = _road_lines(NCOL, rng)
        self.h_main, self.h_sec = _road_lines(NROW, rng)
        self.ic = min(self.v_main, key=lambda i: (abs(i - NCOL / 2), i))
        self.j_boyuan = min(self.h_main, key=lambda j: (abs(j - 0.7 * NROW), j))
        south = [j for j in self.h_main if j < self.j_boyuan]
        self.jc = min(south, key=lambda j: (abs(j - self.j_boyuan / 2), j))
        # river band: the gap between two horizontal road lines ~500 m south of the centre
        hl = sorted(set(self.h_main) | set(self.h_sec) | {0})
        gaps = [(a, b) for a, b in zip(hl[:-1], hl[1:]) if b - a >= 3 and a >= 2 and b < self.jc]
        self.band = min(gaps, key=lambda g: (abs((g[0] + g[1]) / 2 - (self.jc - 5)), g[0]))

        w = _cell_sizes(NCOL, rng)
        h = _cell_sizes(NROW, rng)
        xs = np.concatenate([[0.0], np.cumsum(w)])
        ys = np.concatenate([[0.0], np.cumsum(h)])
        self.xs, self.ys = xs - xs[self.ic], ys - ys[self.jc]

        self.mask = _town_mask(rng)
        self.cell_ids()

    def cell_ids(self):
        self.gid = np.full((NROW + 2, NCOL + 2), -1, dtype=np.int64)  # padded by one
        rr, cc = np.nonzero(self.mask)
        self.cell_r, self.cell_c = rr, cc
        self.gid[rr + 1, cc + 1] = np.arange(len(rr))
        self.ncell = len(rr)

    def valid_range(self, orient: str, line: int) -> tuple[int, int] | None:
        """Vertex index range along a lattice line where it borders the town."""
        if orient == "v":
            left = self.mask[:, line - 1] if line >= 1 else np.zeros(NROW, bool)
            right = self.mask[:, line] if line < NCOL else np.zeros(NROW, bool)
        else:
            left = self.mask[line - 1, :] if line >= 1 else np.zeros(NCOL, bool)
            right = self.mask[line, :] if line < NROW else np.zeros(NCOL, bool)
        ok = np.nonzero(left | right)[0]
        if len(ok) == 0:
            return None
        a, b = int(ok[0]), int(ok[-1]) + 1
        if len(ok) != b - a:
            raise RuntimeError("town outline is not orthogonally convex")
        return a, b

    # ---- roads (topology first, geometry after the vertices exist) --------
    def plan_roads(self):
        rng = self.rng(2)
        roads = []

        def add(orient, line, a, b, grade, name):
            roads.append({"orient": orient, "line": line, "a": a, "b": b, "grade": grade, "name": name})

        # main roads: names by position relative to the central road
        vm = sorted(self.v_main)
        k = vm.index(self.ic)
        for idx, i in enumerate(vm):
            name = V_MAIN_CENTRE if idx == k else (V_MAIN_WEST[k - idx - 1] if idx < k else V_MAIN_EAST[idx - k - 1])
            add("v", i, *self.valid_range("v", i), "主干路", name)
        hm = sorted(self.h_main)
        k = hm.index(self.jc)
        for idx, j in enumerate(hm):
            name = H_MAIN_CENTRE if idx == k else (H_MAIN_SOUTH[k - idx - 1] if idx < k else H_MAIN_NORTH[idx - k - 1])
            add("h", j, *self.valid_range("h", j), "主干路", name)
        sec_names = list(SECONDARY_NAMES)
        rng.shuffle(sec_names)
        self._sec_names = sec_names
        for i in sorted(self.v_sec):
            add("v", i, *self.valid_range("v", i), "次干路", sec_names.pop(0))
        for j in sorted(self.h_sec):
            add("h", j, *self.valid_range("h", j), "次干路", sec_names.pop(0))

        # branch roads: a span between two crossing main/secondary lines
        br_names = list(BRANCH_NAMES)
        rng.shuffle(br_names)
        self._branch_names = br_names
        vcross = sorted(set(self.v_main) | set(self.v_sec))
        hcross = sorted(set(self.h_main) | set(self.h_sec))
        ja, jb = self.band
        cands = [("v", i) for i in range(2, NCOL - 1) if i not in vcross] + \
                [("h", j) for j in range(2, NROW - 1) if j not in hcross and not (ja < j < jb)]
        for orient, line in cands:
            if rng.random() > 0.42:
                continue
            rg = self.valid_range(orient, line)
            perp = hcross if orient == "v" else vcross
            stops = [p for p in perp if rg[0] <= p <= rg[1]]
            if len(stops) < 2:
                continue
            for _try in range(3):
                s = int(rng.integers(0, len(stops) - 1))
                e = min(len(stops) - 1, s + int(rng.integers(1, 3)))
                a, b = stops[s], stops[e]
                if orient == "v" and a < jb and b > ja:
                    continue  # would cross the river: branch roads have no bridge
                add(orient, line, a, b, "支路", br_names.pop(0))
                break
        self.road_plan = roads
        self.v_road_lines = sorted({r["line"] for r in roads if r["orient"] == "v"})
        self.h_road_lines = sorted({r["line"] for r in roads if r["orient"] == "h"})

    def build_vertices(self):
        rng = self.rng(3)
        ax, lx, px = rng.uniform(8, 13), rng.uniform(5000, 7000), rng.uniform(0, 2 * math.pi)
        ay, ly, py = rng.uniform(8, 13), rng.uniform(5000, 7000), rng.uniform(0, 2 * math.pi)
        jx = rng.uniform(-JITTER_M, JITTER_M, (NROW + 1, NCOL + 1))
        jy = rng.uniform(-JITTER_M, JITTER_M, (NROW + 1, NCOL + 1))
        jx[:, self.v_road_lines] = 0.0
        jy[self.h_road_lines, :] = 0.0
        wx = self.xs[None, :] + ax * np.sin(2 * math.pi * self.ys[:, None] / lx + px)
        wy = self.ys[:, None] + ay * np.sin(2 * math.pi * self.xs[None, :] / ly + py)
        r, c = self.cell_r, self.cell_c
        for _ in range(20):  # damp the jitter around grids that came out too small or too large
            X, Y = wx + jx, wy + jy
            # cell quads, counter-clockwise SW, SE, NE, NW
            qx = np.stack([X[r, c], X[r, c + 1], X[r + 1, c + 1], X[r + 1, c]], axis=1)
            qy = np.stack([Y[r, c], Y[r, c + 1], Y[r + 1, c + 1], Y[r + 1, c]], axis=1)
            area = 0.5 * np.abs(np.sum(qx * np.roll(qy, -1, axis=1) - np.roll(qx, -1, axis=1) * qy, axis=1))
            bad = np.nonzero((area < GRID_AREA_MIN) | (area > GRID_AREA_MAX))[0]
            if len(bad) == 0:
                break
            for dr, dc in ((0, 0), (0, 1), (1, 1), (1, 0)):
                jx[r[bad] + dr, c[bad] + dc] *= 0.5
                jy[r[bad] + dr, c[bad] + dc] *= 0.5
        else:
            raise RuntimeError("unit grid areas out of range")
        self.VX, self.VY = X, Y
        self.qx, self.qy = qx, qy
        ex = np.roll(qx, -1, axis=1) - qx
        ey = np.roll(qy, -1, axis=1) - qy
        turn = ex * np.roll(ey, -1, axis=1) - ey * np.roll(ex, -1, axis=1)
        if not (turn > 0).all():
            raise RuntimeError("a unit grid is not convex")
        self.cell_area = area
        self.cx, self.cy = qx.mean(axis=1), qy.mean(axis=1)
        # lon/lat of every lattice vertex, computed once so shared vertices stay shared
        lon, lat = self.frame.lonlat(X.ravel(), Y.ravel())
        self.LON, self.LAT = lon.reshape(X.shape), lat.reshape(X.shape)

    # ---- point location ----------------------------------------------------
    def locate(self, px, py, r0, c0, margin=0.05):
        """Unit grid index (or -1) of points, trying cell (r0, c0) then its neighbours.

        A point closer than ``margin`` metres to a grid edge counts as not located,
        so callers can resample it (keeps point-in-polygon tests unambiguous).
        """
        n = len(px)
        out = np.full(n, -1, dtype=np.int64)
        todo = np.arange(n)
        for dr, dc in ((0, 0), (0, -1), (0, 1), (-1, 0), (1, 0), (-1, -1), (-1, 1), (1, -1), (1, 1)):
            if len(todo) == 0:
                break
            r = r0[todo] + dr
            c = c0[todo] + dc
            okrc = (r >= 0) & (r < NROW) & (c >= 0) & (c < NCOL)
            r = np.clip(r, 0, NROW - 1)
            c = np.clip(c, 0, NCOL - 1)
            inside = okrc & _in_quad(self.VX, self.VY, r, c, px[todo], py[todo], margin)
            out[todo[inside]] = self.gid[r[inside] + 1, c[inside] + 1]
            # a point inside a cell outside the town is settled (-1) as well
            todo = todo[~inside]
        return out

    def cell_of_local(self, px, py):
        """Locate arbitrary local points (no hint)."""
        c0 = np.clip(np.searchsorted(self.xs, px) - 1, 0, NCOL - 1)
        r0 = np.clip(np.searchsorted(self.ys, py) - 1, 0, NROW - 1)
        return self.locate(np.asarray(px, float), np.asarray(py, float), r0, c0)


def _in_quad(X, Y, r, c, px, py, margin):
    corners = ((r, c), (r, c + 1), (r + 1, c + 1), (r + 1, c))
    ok = np.ones(len(px), dtype=bool)
    for k in range(4):
        (ra, ca), (rb, cb) = corners[k], corners[(k + 1) % 4]
        ax, ay = X[ra, ca], Y[ra, ca]
        bx, by = X[rb, cb], Y[rb, cb]
        ex, ey = bx - ax, by - ay
        d = (ex * (py - ay) - ey * (px - ax)) / np.hypot(ex, ey)
        ok &= d > margin
    return ok


def _road_lines(n: int, rng) -> tuple[list[int], list[int]]:
    mains, pos = [], int(rng.integers(5, 7))
    while pos <= n - 5:
        mains.append(pos)
        pos += int(rng.integers(6, 9))
    bounds = [0] + mains + [n]
    secs = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        span = b - a
        if span >= 5:
            k = math.ceil(span / 4)
            secs.extend(a + round(q * span / k) for q in range(1, k))
    return mains, secs


def _cell_sizes(n: int, rng) -> np.ndarray:
    t = (np.arange(n) + 0.5 - n / 2) / (n / 2)
    return 90.0 + 20.0 * np.abs(t) ** 1.5 + rng.uniform(-4, 4, n)


def _town_mask(rng) -> np.ndarray:
    """Orthogonally convex outline: the lattice with its corners cut in steps."""
    rows = np.arange(NROW)
    west = np.zeros(NROW, dtype=int)
    east = np.zeros(NROW, dtype=int)
    for corner in ("sw", "nw", "se", "ne"):
        depth = int(rng.integers(4, 11))
        height = int(rng.integers(6, 14))
        p = rng.uniform(0.6, 1.6)
        rr = rows if corner[0] == "s" else NROW - 1 - rows
        cut = np.where(rr < height, np.ceil(depth * np.clip(1 - rr / height, 0, 1) ** p), 0).astype(int)
        if corner[1] == "w":
            west = np.maximum(west, cut)
        else:
            east = np.maximum(east, cut)
    cols = np.arange(NCOL)
    return (cols[None, :] >= west[:, None]) & (cols[None, :] < NCOL - east[:, None])


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------
def _components(cells: list[int], neighbours) -> list[list[int]]:
    """4-connected components of a set of cells (deterministic order)."""
    todo = set(cells)
    out = []
    for start in cells:
        if start not in todo:
            continue
        comp, q = [], deque([start])
        todo.discard(start)
        while q:
            x = q.popleft()
            comp.append(x)
            for y in neighbours(x):
                if y in todo:
                    todo.discard(y)
                    q.append(y)
        out.append(sorted(comp))
    return out


def _code_array(prefix: np.ndarray, serial: np.ndarray, width: int) -> np.ndarray:
    """Fixed-width digit strings prefix+serial, vectorised (prefix: (n, k) uint8)."""
    n = len(serial)
    digits = np.empty((n, width), dtype=np.uint8)
    s = serial.astype(np.int64).copy()
    for k in range(width - 1, -1, -1):
        digits[:, k] = 48 + s % 10
        s //= 10
    full = np.ascontiguousarray(np.concatenate([prefix, digits], axis=1))
    total = full.shape[1]
    return full.view(f"S{total}").ravel().astype(f"U{total}")


def _person(rng) -> str:
    name = SURNAMES[int(rng.integers(len(SURNAMES)))]
    for _ in range(int(rng.choice([1, 2], p=[0.35, 0.65]))):
        name += GIVEN_CHARS[int(rng.integers(len(GIVEN_CHARS)))]
    return name


def _phone(rng) -> str:
    return "138" + "".join(str(int(d)) for d in rng.integers(0, 10, 8))


def _lec_level(d: float) -> int:
    if d > 320:
        return 1
    if d > 160:
        return 2
    if d > 70:
        return 3
    return 4


def _dijkstra(n: int, adj: list, sources: list[int]):
    dist = np.full(n, np.inf)
    parent = np.full(n, -1, dtype=np.int64)
    heap = []
    for s in sources:
        dist[s] = 0.0
        heap.append((0.0, s))
    heapq.heapify(heap)
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        for v, w in adj[u]:
            nd = d + w
            if nd < dist[v]:
                dist[v] = nd
                parent[v] = u
                heapq.heappush(heap, (nd, v))
    return dist, parent


def _farthest(points: np.ndarray, k: int, first: int) -> list[int]:
    """Farthest-point sampling of k indices."""
    chosen = [first]
    d = np.hypot(points[:, 0] - points[first, 0], points[:, 1] - points[first, 1])
    while len(chosen) < min(k, len(points)):
        nxt = int(np.argmax(d))
        chosen.append(nxt)
        d = np.minimum(d, np.hypot(points[:, 0] - points[nxt, 0], points[:, 1] - points[nxt, 1]))
    return chosen


# --------------------------------------------------------------------------
# County outline and rivers
# --------------------------------------------------------------------------
def _build_county(t: _Town) -> Polygon:
    rng = t.rng(5)
    cx, cy = t.frame.local(*COUNTY_CENTRE_LONLAT)
    theta = np.linspace(0.0, 2 * math.pi, 1440, endpoint=False)
    a, b = 23_200.0, 18_300.0
    base = a * b / np.sqrt((b * np.cos(theta)) ** 2 + (a * np.sin(theta)) ** 2)
    # 1/f noise on the radius: large lobes plus a ragged small-scale edge
    f = np.ones_like(theta)
    for k in range(2, 160):
        amp = (0.05 if k <= 6 else 0.11 / k) * rng.uniform(0.3, 1.0)
        f += amp * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    f += rng.uniform(-0.004, 0.004, len(theta))
    r = base * f
    poly = Polygon(np.column_stack([cx + r * np.cos(theta), cy + r * np.sin(theta)]))
    s = math.sqrt(COUNTY_AREA_M2 / poly.area)
    poly = Polygon(np.column_stack([cx + s * r * np.cos(theta), cy + s * r * np.sin(theta)]))
    town_box = shapely.box(t.VX.min(), t.VY.min(), t.VX.max(), t.VY.max())
    if not (poly.is_valid and poly.contains(town_box.buffer(4000))):
        raise RuntimeError("county outline does not contain the town with a margin")
    return poly


def _build_rivers(t: _Town, county: Polygon):
    rng = t.rng(6)
    ja, jb = t.band
    xa, ya, xb, yb = t.VX[ja], t.VY[ja], t.VX[jb], t.VY[jb]
    xt = np.linspace(t.VX.min() - 200, t.VX.max() + 200, 400)
    half = float(np.min(np.interp(xt, xb, yb) - np.interp(xt, xa, ya))) / 2
    amp = half - 45.0
    a1 = amp * rng.uniform(0.45, 0.6)
    a2 = amp * rng.uniform(0.15, 0.3)
    l1, l2 = rng.uniform(1800, 2600), rng.uniform(700, 1100)
    p1, p2 = rng.uniform(0, 2 * math.pi, 2)
    x = np.arange(-32_000.0, 32_000.1, 40.0)
    y = 0.5 * (np.interp(x, xa, ya) + np.interp(x, xb, yb))
    y = y + a1 * np.sin(2 * math.pi * x / l1 + p1) + a2 * np.sin(2 * math.pi * x / l2 + p2)
    x0, x1 = t.VX.min() - 150, t.VX.max() + 150
    ramp = np.clip((x0 - x) / 2500, 0, 1) + np.clip((x - x1) / 2500, 0, 1)
    y = y + ramp * _meander(rng, x, 1200.0)
    t.river_x, t.river_y = x, y
    inner = county.buffer(-25.0)  # rivers stop just inside the outline (robust after reprojection)
    liuyan = _longest(inner.intersection(LineString(np.column_stack([x, y]))))

    y0 = t.VY.min() - rng.uniform(4500, 6000)
    y2 = y0 + _meander(rng, x, 700.0)
    honghe = _longest(inner.intersection(LineString(np.column_stack([x, y2]))))
    t.river_local = liuyan
    return [("RV01", "柳堰河", liuyan), ("RV02", "洪河", honghe)]


def _meander(rng, x: np.ndarray, amp: float) -> np.ndarray:
    """Sum of sines with amplitude ~ 1/wavelength rank: big bends plus small wiggles."""
    y = np.zeros_like(x)
    for k, wave in enumerate((11000.0, 4200.0, 1700.0, 800.0, 420.0), start=1):
        y += amp / k ** 2 * rng.uniform(0.6, 1.0) * np.sin(
            2 * math.pi * x / (wave * rng.uniform(0.8, 1.25)) + rng.uniform(0, 2 * math.pi))
    return y


def _longest(g):
    if g.geom_type == "LineString":
        return g
    return max(g.geoms, key=lambda p: p.length)


# --------------------------------------------------------------------------
# Roads
# --------------------------------------------------------------------------
def _build_roads(t: _Town):
    rng = t.rng(7)
    ja, jb = t.band

    def river_side(j, i):
        return t.VY[j, i] - np.interp(t.VX[j, i], t.river_x, t.river_y)

    crossing = {}  # plan index -> j of the upper vertex of the crossing edge
    for k, r in enumerate(t.road_plan):
        if r["orient"] != "v" or not (r["a"] < jb and r["b"] > ja):
            continue
        i = r["line"]
        for j in range(min(r["b"], jb), max(r["a"], ja), -1):
            if river_side(j, i) > 0 >= river_side(j - 1, i):
                crossing[k] = j
                break
        else:
            if r["a"] <= ja and r["b"] >= jb:
                raise RuntimeError("road does not cross the river band")
    secs = [k for k in crossing if t.road_plan[k]["grade"] == "次干路"]
    bridged_secs = set(int(x) for x in rng.choice(secs, size=min(2, len(secs)), replace=False)) if secs else set()

    roads = []  # final: name, grade, orient, line, vertex list [(j, i)], bridge crossing j or None
    t.river_gaps = []  # (upper vid, lower vid) of lattice edges across the river
    spare = [n for n in t._sec_names] + [n for n in t._branch_names]
    for k, r in enumerate(t.road_plan):
        if r["orient"] == "v":
            verts = [(j, r["line"]) for j in range(r["b"], r["a"] - 1, -1)]  # north -> south
        else:
            verts = [(r["line"], i) for i in range(r["a"], r["b"] + 1)]      # west -> east
        base = {"name": r["name"], "grade": r["grade"], "orient": r["orient"], "line": r["line"]}
        if k in crossing:
            jx = crossing[k]
            t.river_gaps.append((_vid(jx, r["line"]), _vid(jx - 1, r["line"])))
        if k in crossing and r["grade"] == "次干路" and k not in bridged_secs:
            jx = crossing[k]
            cut = [n for n, (j, _i) in enumerate(verts) if j == jx][0]
            parts = [verts[:cut + 1], verts[cut + 1:]]
            parts = [p for p in parts if len(p) >= 3]
            parts.sort(key=len, reverse=True)
            for n, p in enumerate(parts):
                roads.append(dict(base, name=base["name"] if n == 0 else spare.pop(0), verts=p, cross=None))
        else:
            roads.append(dict(base, verts=verts, cross=crossing.get(k)))

    names = [r["name"] for r in roads]
    if len(set(names)) != len(names):
        raise RuntimeError("road names are not unique")
    # edges
    eu, ev, eroad, egrade, elen, ecross, es0 = [], [], [], [], [], [], []
    for k, r in enumerate(roads):
        r["code"] = f"R{k + 1:04d}"
        lo, hi = GRADE_WIDTH[r["grade"]]
        r["width_m"] = float(rng.integers(lo, hi + 1)) if r["grade"] != "主干路" or r["name"] not in (
            V_MAIN_CENTRE, H_MAIN_CENTRE) else 50.0
        js = np.array([v[0] for v in r["verts"]])
        iss = np.array([v[1] for v in r["verts"]])
        x, y = t.VX[js, iss], t.VY[js, iss]
        seg = np.hypot(np.diff(x), np.diff(y))
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        r["x"], r["y"], r["cum"] = x, y, cum
        r["length_m"] = float(cum[-1])
        r["local"] = LineString(np.column_stack([x, y]))
        r["geom"] = LineString(np.column_stack([t.LON[js, iss], t.LAT[js, iss]]))
        gi = GRADES.index(r["grade"])
        for n in range(len(js) - 1):
            eu.append(_vid(js[n], iss[n]))
            ev.append(_vid(js[n + 1], iss[n + 1]))
            eroad.append(k)
            egrade.append(gi)
            elen.append(seg[n])
            ecross.append(r["cross"] is not None and js[n] == r["cross"] and js[n + 1] == r["cross"] - 1)
            es0.append(cum[n])
    t.roads = roads
    t.E = {"u": np.array(eu), "v": np.array(ev), "road": np.array(eroad), "grade": np.array(egrade),
           "len": np.array(elen), "cross": np.array(ecross, dtype=bool), "s0": np.array(es0)}
    if len(np.unique(np.minimum(t.E["u"], t.E["v"]) * 10_000 + np.maximum(t.E["u"], t.E["v"]))) != len(eu):
        raise RuntimeError("two roads share a lattice edge")


def _vid(j, i) -> int:
    return int(j) * (NCOL + 1) + int(i)


def _vxy(t: _Town, vid):
    vid = np.asarray(vid)
    return t.VX.ravel()[vid], t.VY.ravel()[vid]


# --------------------------------------------------------------------------
# Streets, communities, unit grids, responsibility grids
# --------------------------------------------------------------------------
def _build_regions(t: _Town):
    rng = t.rng(8)
    r_, c_ = t.cell_r, t.cell_c
    n = t.ncell

    def nb(g):
        r, c = r_[g], c_[g]
        out = []
        for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            x = t.gid[rr + 1, cc + 1]
            if x >= 0:
                out.append(int(x))
        return out
    t.nb = nb

    vb = sorted(set([0] + t.v_main + t.v_sec + [NCOL]))
    hb = sorted(set([0] + t.h_main + t.h_sec + [NROW]))
    bx = np.searchsorted(vb, c_, side="right") - 1
    by = np.searchsorted(hb, r_, side="right") - 1
    street = np.where(r_ >= t.j_boyuan, 2, np.where(c_ < t.ic, 0, 1))  # index into STREETS

    # units: connected pieces of road-bounded sub-blocks
    key = by * 1000 + bx
    unit = np.full(n, -1, dtype=np.int64)
    units = []
    for kv in np.unique(key):
        cells = [int(g) for g in np.nonzero(key == kv)[0]]
        for comp in _components(cells, nb):
            unit[comp] = len(units)
            units.append(comp)
    t.unit, t.units = unit, units
    ucent = np.array([[t.cx[u].mean(), t.cy[u].mean()] for u in units])
    usize = np.array([len(u) for u in units])
    ustreet = np.array([street[u[0]] for u in units])
    uadj = [set() for _ in units]
    for g in range(n):
        for h in nb(g):
            if unit[h] != unit[g]:
                uadj[unit[g]].add(int(unit[h]))

    # communities grown around seeds inside each street
    comm_of_unit = np.full(len(units), -1, dtype=np.int64)
    comm_street, seeds_xy = [], []
    for s in range(3):
        us = np.nonzero(ustreet == s)[0]
        k = int(np.clip(round(TARGET_COMMUNITIES * usize[us].sum() / n), 4, 9))
        first = int(rng.integers(len(us)))
        seeds = [int(us[i]) for i in _farthest(ucent[us], k, first)]
        base = len(comm_street)
        members = []
        for q, u in enumerate(seeds):
            comm_of_unit[u] = base + q
            comm_street.append(s)
            seeds_xy.append(ucent[u])
            members.append([u])
        size = [int(usize[u]) for u in seeds]
        remaining = sum(1 for u in us if comm_of_unit[u] < 0)
        while remaining:
            grown = False
            for q in sorted(range(len(seeds)), key=lambda q: (size[q], q)):
                frontier = sorted({v for u in members[q] for v in uadj[u]
                                   if comm_of_unit[v] < 0 and ustreet[v] == s})
                if frontier:
                    sx, sy = seeds_xy[base + q]
                    v = min(frontier, key=lambda v: (math.hypot(ucent[v, 0] - sx, ucent[v, 1] - sy), v))
                    comm_of_unit[v] = base + q
                    members[q].append(v)
                    size[q] += int(usize[v])
                    remaining -= 1
                    grown = True
                    break
            if not grown:
                for u in us:
                    if comm_of_unit[u] < 0:
                        d = [math.hypot(ucent[u, 0] - seeds_xy[base + q][0], ucent[u, 1] - seeds_xy[base + q][1])
                             for q in range(len(seeds))]
                        comm_of_unit[u] = base + int(np.argmin(d))
                remaining = 0
    comm = comm_of_unit[unit]

    # every community 4-connected: move stray pieces to the neighbour with the longest border
    changed = True
    while changed:
        changed = False
        for q in range(len(comm_street)):
            cells = [int(g) for g in np.nonzero(comm == q)[0]]
            parts = _components(cells, nb)
            if len(parts) < 2:
                continue
            parts.sort(key=lambda p: (-len(p), p[0]))
            for p in parts[1:]:
                border = {}
                for g in p:
                    for h in nb(g):
                        if comm[h] != q:
                            border[int(comm[h])] = border.get(int(comm[h]), 0) + 1
                target = min(border, key=lambda z: (-border[z], z))
                comm[p] = target
                changed = True

    # order and name communities within each street
    comms = []
    for s in range(3):
        qs = [q for q in range(len(comm_street)) if comm_street[q] == s and (comm == q).any()]
        cent = {q: (float(t.cx[comm == q].mean()), float(t.cy[comm == q].mean())) for q in qs}
        qs.sort(key=lambda q: (math.floor(-cent[q][1] / 700.0), cent[q][0]))
        scode = STREETS[s][0]
        if s == 2:
            med = float(np.median([cent[q][1] for q in qs]))
            n_shequ, n_cun = 0, 0
            for idx, q in enumerate(qs):
                village = BOYUAN_VILLAGES[idx]
                if cent[q][1] < med:
                    n_shequ += 1
                    code, name = f"{n_shequ:03d}", village + "社区"
                else:
                    n_cun += 1
                    code, name = f"{200 + n_cun:03d}", village + "村"
                comms.append((q, s, COUNTY_CODE + scode + code, name))
        else:
            pool = BAICHENG_COMMUNITIES if s == 0 else BAITING_COMMUNITIES
            for idx, q in enumerate(qs):
                comms.append((q, s, COUNTY_CODE + scode + f"{idx + 1:03d}", pool[idx]))
    comms.sort(key=lambda z: z[2])
    remap = {q: k for k, (q, _s, _c, _n) in enumerate(comms)}
    t.comm = np.array([remap[int(q)] for q in comm])
    t.comm_code = [c for (_q, _s, c, _n) in comms]
    t.comm_name = [nm for (_q, _s, _c, nm) in comms]
    t.comm_street = [s for (_q, s, _c, _n) in comms]
    t.cell_street = np.array([t.comm_street[q] for q in t.comm])


def _build_unit_grids(t: _Town):
    rng = t.rng(9)
    d = np.hypot(t.cx, t.cy)
    # land use per sub-block, a few cells differ
    near = {"商业": .40, "居住": .30, "公共服务": .20, "绿地": .05, "道路广场": .05}
    mid = {"居住": .58, "商业": .12, "公共服务": .15, "绿地": .08, "工业": .04, "道路广场": .03}
    far = {"居住": .45, "工业": .25, "公共服务": .08, "绿地": .14, "商业": .06, "道路广场": .02}
    land = np.empty(t.ncell, dtype=object)
    for u in t.units:
        du = float(d[u].mean())
        p = near if du < 700 else mid if du < 1800 else far
        keys = list(p)
        probs = np.array([p[k] for k in keys])
        main = keys[int(rng.choice(len(keys), p=probs / probs.sum()))]
        for g in u:
            land[g] = main if rng.random() > 0.1 else keys[int(rng.choice(len(keys), p=probs / probs.sum()))]
    local_polys = shapely.polygons(np.stack([t.qx, t.qy], axis=2))
    wet = shapely.intersects(local_polys, t.river_local.buffer(15.0))
    land[wet] = "水域"
    t.land = land
    mgmt = np.where(d < 1100, 0, np.where(d < 2200, 1, 2))
    mgmt[(land == "商业") & (d < 2200)] = 0
    t.wet = wet

    # polygons in EPSG:4490 from the shared vertex lon/lat
    r, c = t.cell_r, t.cell_c
    lon = np.stack([t.LON[r, c], t.LON[r, c + 1], t.LON[r + 1, c + 1], t.LON[r + 1, c], t.LON[r, c]], axis=1)
    lat = np.stack([t.LAT[r, c], t.LAT[r, c + 1], t.LAT[r + 1, c + 1], t.LAT[r + 1, c], t.LAT[r, c]], axis=1)
    t.cell_poly = shapely.polygons(np.stack([lon, lat], axis=2))

    code = np.empty(t.ncell, dtype=object)
    grids = []
    for q, ccode in enumerate(t.comm_code):
        cells = np.nonzero(t.comm == q)[0]
        order = cells[np.lexsort((c[cells], -r[cells]))]  # north -> south, then west -> east
        s = t.comm_street[q]
        for k, g in enumerate(order, start=1):
            code[g] = f"{ccode}{k:03d}"
            grids.append({
                "code": code[g],
                "name": f"{STREETS[s][1]}{t.comm_name[q]}第{k:03d}网格",
                "community_code": ccode,
                "street_code": COUNTY_CODE + STREETS[s][0],
                "area_m2": round(float(t.cell_area[g]), 2),
                "land_use": land[g],
                "mgmt_level": MGMT_LEVELS[int(mgmt[g])],
                "geom": MultiPolygon([t.cell_poly[g]]),
            })
    t.grid_code = code.astype("U15")
    return grids


def _build_admin(t: _Town, county_local: Polygon):
    county = {"code": COUNTY_CODE, "name": COUNTY_NAME, "level": "county", "parent_code": None,
              "demo_code": False, "geom": _multi(t.frame.geom(county_local))}
    streets = []
    for s, (scode, sname) in enumerate(STREETS):
        g = shapely.union_all(t.cell_poly[t.cell_street == s])
        streets.append({"code": COUNTY_CODE + scode, "name": sname, "level": "street",
                        "parent_code": COUNTY_CODE, "demo_code": True, "geom": _multi(g)})
    communities = []
    for q, ccode in enumerate(t.comm_code):
        g = shapely.union_all(t.cell_poly[t.comm == q])
        communities.append({"code": ccode, "name": t.comm_name[q], "level": "community",
                            "parent_code": COUNTY_CODE + STREETS[t.comm_street[q]][0], "demo_code": True,
                            "geom": _multi(g)})
    return county, streets, communities


def _build_resp_grids(t: _Town):
    rng = t.rng(10)
    nb = t.nb
    pid = np.full(t.ncell, -1, dtype=np.int64)
    pieces = {}
    for q in range(len(t.comm_code)):
        for u in t.units:
            cells = [g for g in u if t.comm[g] == q]
            for comp in _components(cells, nb) if cells else []:
                pid[comp] = len(pieces)
                pieces[len(pieces)] = comp

    def neighbours(p):
        out = set()
        for g in pieces[p]:
            for h in nb(g):
                if pid[h] != p and t.comm[h] == t.comm[g]:
                    out.add(int(pid[h]))
        return sorted(out)

    while True:  # merge small pieces into their smallest neighbour
        small = [p for p in pieces if len(pieces[p]) < RESP_MIN]
        if not small:
            break
        p = min(small, key=lambda z: (len(pieces[z]), z))
        nbrs = neighbours(p)
        if not nbrs:
            raise RuntimeError("isolated small responsibility piece")
        target = min(nbrs, key=lambda z: (len(pieces[z]), z))
        pieces[target] = sorted(pieces[target] + pieces.pop(p))
        pid[pieces[target]] = target

    for p in sorted(pieces):  # split large pieces in two connected halves
        cells = pieces[p]
        if len(cells) <= RESP_MAX:
            continue
        rr, cc = t.cell_r, t.cell_c
        corner_keys = [lambda g: (-rr[g], cc[g]), lambda g: (-rr[g], -cc[g]),
                       lambda g: (rr[g], cc[g]), lambda g: (rr[g], -cc[g])]
        for ck in corner_keys:
            start = min(cells, key=ck)
            inside = set(cells)
            seen, q, order = {start}, deque([start]), []
            while q:
                x = q.popleft()
                order.append(x)
                for y in sorted(nb(x), key=ck):
                    if y in inside and y not in seen:
                        seen.add(y)
                        q.append(y)
            half = sorted(order[:len(order) // 2])
            rest = sorted(set(cells) - set(half))
            rest_set = set(rest)
            if len(_components(rest, lambda g: [h for h in nb(g) if h in rest_set])) == 1:
                pieces[p] = half
                new = max(pieces) + 1
                pieces[new] = rest
                pid[rest] = new
                break

    out = []
    per_street, per_comm = {}, {}
    order = sorted(pieces, key=lambda p: (t.comm_code[t.comm[pieces[p][0]]],
                                          min((-t.cell_r[g], t.cell_c[g]) for g in pieces[p])))
    for p in order:
        cells = np.array(pieces[p])
        q = int(t.comm[cells[0]])
        s = t.comm_street[q]
        scode = COUNTY_CODE + STREETS[s][0]
        per_street[s] = per_street.get(s, 0) + 1
        per_comm[q] = per_comm.get(q, 0) + 1
        busy = np.isin(t.land[cells], ["商业", "道路广场"]).mean() > 0.5
        dept = D_CGJ if busy or rng.random() < 0.12 else STREET_OFFICE[STREETS[s][0]]
        people = [{"name": _person(rng), "post": "网格长", "phone": _phone(rng)},
                  {"name": _person(rng), "post": "监督员", "phone": _phone(rng)}]
        for _ in range(int(rng.integers(1, 3))):
            people.append({"name": _person(rng), "post": "网格员", "phone": _phone(rng)})
        codes = sorted(str(t.grid_code[g]) for g in cells)
        out.append({
            "code": f"{scode}ZR{per_street[s]:03d}",
            "name": f"{t.comm_name[q]}第{per_comm[q]}责任网格",
            "community_code": t.comm_code[q],
            "street_code": scode,
            "dept_code": dept,
            "unit_grid_codes": codes,
            "people": people,
            "geom": _multi(shapely.union_all(t.cell_poly[cells])),
        })
    return out


# --------------------------------------------------------------------------
# Bridges
# --------------------------------------------------------------------------
def _build_bridges(t: _Town):
    rng = t.rng(11)
    river_name = "柳堰河"
    items = []
    for r in t.roads:
        if r["cross"] is None:
            continue
        p = r["local"].intersection(t.river_local)
        if p.is_empty:
            raise RuntimeError("bridged road does not meet the river")
        if p.geom_type != "Point":
            p = p.geoms[0]
        length = float(rng.uniform(70, 110) if r["grade"] == "主干路" else rng.uniform(48, 68))
        items.append({"road": r, "at": r["local"].project(p), "length": length, "kind": "跨河桥",
                      "name": f"{r['name']}{river_name}{'大桥' if r['grade'] == '主干路' else '桥'}",
                      "river": river_name})
    # a couple of overpasses at main-road crossings away from the centre and the river
    hmain = [r for r in t.roads if r["grade"] == "主干路" and r["orient"] == "h"]
    vmain = [r for r in t.roads if r["grade"] == "主干路" and r["orient"] == "v"]
    cands = []
    for h in hmain:
        for v in vmain:
            vj = [j for (j, _i) in v["verts"]]
            hi = [i for (_j, i) in h["verts"]]
            if h["line"] in vj and v["line"] in hi:
                x, y = t.VX[h["line"], v["line"]], t.VY[h["line"], v["line"]]
                if math.hypot(x, y) > 1000 and Point(x, y).distance(t.river_local) > 400:
                    cands.append((h, v, x, y))
    for idx in sorted(rng.choice(len(cands), size=min(2, len(cands)), replace=False)):
        h, v, x, y = cands[int(idx)]
        items.append({"road": h, "at": h["local"].project(Point(x, y)), "length": float(rng.uniform(140, 200)),
                      "kind": "立交桥", "name": f"{h['name']}{v['name']}立交桥", "river": None})
    arch = set(int(i) for i in rng.choice([k for k, b in enumerate(items) if b["kind"] == "跨河桥"
                                           and b["road"]["name"] != V_MAIN_CENTRE], size=2, replace=False))
    out = []
    for k, b in enumerate(items):
        r = b["road"]
        if b["kind"] == "跨河桥" and r["name"] == V_MAIN_CENTRE:
            structure, spans, year = "斜拉桥", 2, int(rng.integers(2014, 2021))
        elif k in arch:
            structure, spans, year = "拱桥", int(rng.choice([1, 3])), int(rng.integers(1985, 2012))
        else:
            structure = "梁桥"
            spans = max(1, round(b["length"] / rng.uniform(16, 25)))
            year = int(rng.integers(1990, 2022))
        geom_local = substring(r["local"], max(0.0, b["at"] - b["length"] / 2),
                               min(r["length_m"], b["at"] + b["length"] / 2))
        out.append({
            "code": f"B{k + 1:03d}", "name": b["name"], "kind": b["kind"], "structure": structure,
            "length_m": round(b["length"], 1), "width_m": r["width_m"], "spans": int(spans), "build_year": year,
            "road_code": r["code"], "river": b["river"],
            "maintainer_dept": D_SZS if b["kind"] == "跨河桥" else D_JTJ,
            "geom": t.frame.geom(geom_local),
            "_local": geom_local,
        })
    t.bridges = out
    return out


# --------------------------------------------------------------------------
# Pipe networks
# --------------------------------------------------------------------------
NETWORKS = ("water", "rain", "sewage", "gas", "heating")
NET_PREFIX = {"water": "W", "rain": "R", "sewage": "S", "gas": "G", "heating": "H"}
NET_OFFSET = {"water": 3.0, "rain": -5.0, "sewage": 0.0, "gas": -3.0, "heating": 5.0}
NET_OWNER = {"water": D_WATER, "rain": D_DRAIN, "sewage": D_DRAIN, "gas": D_GAS, "heating": D_HEAT}
HEAT_RADIUS = 1400.0


def _build_networks(t: _Town):
    E = t.E
    nroad = len(t.roads)
    by_grade = E["grade"]
    nodes_all, pipes_all, info = [], [], {}
    for k, net in enumerate(NETWORKS):
        rng = t.rng(20 + k)
        keep_road = np.ones(nroad, dtype=bool)
        branch = np.array([r["grade"] == "支路" for r in t.roads])
        p_drop = {"water": 0.12, "rain": 0.0, "sewage": 0.15, "gas": 0.3, "heating": 0.0}[net]
        keep_road &= ~(branch & (rng.random(nroad) < p_drop))
        sel = keep_road[E["road"]]
        if net == "rain":
            sel &= ~E["cross"]
        hm = [r for r in t.roads if r["grade"] == "主干路" and r["orient"] == "h"]
        vm = [r for r in t.roads if r["grade"] == "主干路" and r["orient"] == "v"]
        if net == "water":
            wy = np.interp(t.VX.min(), t.river_x, t.river_y)
            r = min(hm, key=lambda r: (abs(r["y"][0] - wy), r["code"]))
            roots = [_vid(*r["verts"][0])]
        elif net == "gas":
            cand = [r for r in vm if r["name"] != V_MAIN_CENTRE]
            r = cand[int(rng.integers(len(cand)))]
            roots = [_vid(*r["verts"][-1])]
        elif net == "heating":
            cand = [r for r in hm if r["line"] > t.jc]
            r = cand[int(rng.integers(len(cand)))]
            roots = [_vid(*r["verts"][-1])]
            ux, uy = _vxy(t, E["u"])
            vx, vy = _vxy(t, E["v"])
            central = (np.hypot(ux, uy) < HEAT_RADIUS) & (np.hypot(vx, vy) < HEAT_RADIUS)
            sel = central.copy()
            # trunk from the heat source along main roads to the central area
            madj = {}
            for e in np.nonzero(by_grade == 0)[0]:
                madj.setdefault(int(E["u"][e]), []).append((int(E["v"][e]), int(e)))
                madj.setdefault(int(E["v"][e]), []).append((int(E["u"][e]), int(e)))
            dist, prev = {roots[0]: 0.0}, {}
            heap = [(0.0, roots[0])]
            target = None
            while heap:
                dd, u = heapq.heappop(heap)
                if dd > dist[u]:
                    continue
                x, y = _vxy(t, u)
                if math.hypot(float(x), float(y)) < HEAT_RADIUS * 0.9:
                    target = u
                    break
                for v, e in madj.get(u, []):
                    nd = dd + float(E["len"][e])
                    if nd < dist.get(v, np.inf):
                        dist[v] = nd
                        prev[v] = (u, e)
                        heapq.heappush(heap, (nd, v))
            while target is not None and target in prev:
                u, e = prev[target]
                sel[e] = True
                target = u
        elif net == "sewage":
            ja = t.band[0]
            r = [r for r in t.roads if r["orient"] == "h" and r["line"] == ja][0]
            roots = [_vid(*r["verts"][-1])]
        else:  # rain: both ends of every lattice edge across the river
            roots = sorted({v for gap in t.river_gaps for v in gap})
        nodes, pipes, inf = _network(t, net, np.nonzero(sel)[0], roots, rng)
        nodes_all.extend(nodes)
        pipes_all.extend(pipes)
        info[net] = inf
    return nodes_all, pipes_all, info


def _network(t: _Town, net: str, sel: np.ndarray, roots: list[int], rng):
    E = t.E
    adj = {}
    for e in sel:
        u, v = int(E["u"][e]), int(E["v"][e])
        adj.setdefault(u, []).append(v)
        adj.setdefault(v, []).append(u)
    roots = [r for r in roots if r in adj]
    seen = set(roots)
    q = deque(roots)
    while q:
        u = q.popleft()
        for v in adj[u]:
            if v not in seen:
                seen.add(v)
                q.append(v)
    keep = [int(e) for e in sel if int(E["u"][e]) in seen]
    verts = sorted(seen)
    vindex = {v: k for k, v in enumerate(verts)}
    deg = np.zeros(len(verts), dtype=np.int64)
    for e in keep:
        deg[vindex[int(E["u"][e])]] += 1
        deg[vindex[int(E["v"][e])]] += 1
    off = NET_OFFSET[net]
    vx, vy = _vxy(t, verts)
    nx, ny = list(vx + off), list(vy + off)
    node_edge = [-1] * len(verts)       # road edge of intermediate nodes
    is_vertex = [True] * len(verts)
    pa, pb, pedge = [], [], []
    for e in keep:
        a, b = vindex[int(E["u"][e])], vindex[int(E["v"][e])]
        nseg = max(1, math.ceil(float(E["len"][e]) / 80.0))
        chain = [a]
        for s in range(1, nseg):
            f = (s + rng.uniform(-0.02, 0.02)) / nseg
            nx.append(nx[a] + f * (nx[b] - nx[a]))
            ny.append(ny[a] + f * (ny[b] - ny[a]))
            node_edge.append(e)
            is_vertex.append(False)
            chain.append(len(nx) - 1)
        chain.append(b)
        for s in range(len(chain) - 1):
            pa.append(chain[s])
            pb.append(chain[s + 1])
            pedge.append(e)
    nx, ny = np.array(nx), np.array(ny)
    pa, pb, pedge = np.array(pa), np.array(pb), np.array(pedge)
    plen = np.hypot(nx[pb] - nx[pa], ny[pb] - ny[pa])
    nnode = len(nx)
    gadj = [[] for _ in range(nnode)]
    for k in range(len(pa)):
        gadj[pa[k]].append((int(pb[k]), float(plen[k])))
        gadj[pb[k]].append((int(pa[k]), float(plen[k])))
    root_nodes = [vindex[r] for r in roots]
    dist, parent = _dijkstra(nnode, gadj, root_nodes)
    if not np.isfinite(dist).all():
        raise RuntimeError(f"{net} network is not connected")
    drainage = net in ("rain", "sewage")
    fwd = (dist[pa] > dist[pb]) | ((dist[pa] == dist[pb]) & (pa > pb))
    if not drainage:
        fwd = ~fwd
    frm = np.where(fwd, pa, pb)
    to = np.where(fwd, pb, pa)
    grade = E["grade"][pedge]
    road = E["road"][pedge]

    # node kinds
    kinds = np.empty(nnode, dtype=object)
    isv = np.array(is_vertex)
    vdeg = np.zeros(nnode, dtype=np.int64)
    vdeg[:len(verts)] = deg
    u = rng.random(nnode)
    special = {}
    if net == "water":
        kinds[:] = np.where(u < 0.45, "消火栓", np.where(u < 0.7, "水表井", "阀门"))
        kinds[isv & (vdeg <= 2)] = np.where(u[isv & (vdeg <= 2)] < 0.5, "阀门", "水表井")
        kinds[isv & (vdeg == 3)] = np.where(u[isv & (vdeg == 3)] < 0.6, "三通", "阀门")
        kinds[isv & (vdeg >= 4)] = "阀门"
        kinds[root_nodes] = "水源"
    elif net == "gas":
        kinds[:] = np.where(u < 0.5, "凝水缸", "阀门")
        kinds[isv & (vdeg >= 3)] = "阀门"
        cand = [k for k in range(len(verts)) if vdeg[k] >= 3 and k not in root_nodes]
        pts = np.column_stack([nx[cand], ny[cand]])
        reg = [cand[i] for i in _farthest(pts, 8, int(rng.integers(len(cand))))]
        kinds[reg] = "调压站"
        kinds[root_nodes] = "门站"
        special["regulators"] = reg
    elif net == "heating":
        kinds[:] = "检查井"
        kinds[isv & (vdeg >= 3)] = "阀门"
        cand = [k for k in range(len(verts)) if vdeg[k] >= 2 and k not in root_nodes]
        pts = np.column_stack([nx[cand], ny[cand]])
        st = [cand[i] for i in _farthest(pts, 10, int(rng.integers(len(cand))))]
        kinds[st] = "换热站"
        kinds[root_nodes] = "热源"
        special["stations"] = st
    elif net == "rain":
        kinds[:] = "雨水检查井"
        kinds[root_nodes] = "排放口"
    else:
        kinds[:] = "污水检查井"
        kinds[root_nodes] = "排放口"

    # depths, diameters, materials, pressure
    year_road = {}
    for k, r in enumerate(t.roads):
        lo = 1992 if r["grade"] == "主干路" else 1998 if r["grade"] == "次干路" else 2003
        year_road[k] = int(rng.integers(lo, 2021))
    years = np.array([year_road[int(k)] for k in road])
    renew = rng.random(len(pa)) < 0.15
    years = np.where(renew, rng.integers(2015, 2024, len(pa)), years)
    if drainage:
        dmax = float(dist.max()) or 1.0
        ndepth = 1.5 + 4.0 * (1.0 - dist / dmax)
        # accumulated upstream length along the shortest-path tree
        acc = np.zeros(nnode)
        order = np.argsort(-dist, kind="stable")
        for x in order:
            p = parent[x]
            if p >= 0:
                acc[p] += acc[x] + float(np.hypot(nx[x] - nx[p], ny[x] - ny[p]))
        tree = parent[frm] == to
        load = np.where(tree, acc[frm], 0.0) + plen
        if net == "rain":
            bins, sizes = [300, 1000, 2500, 5000, 9000], [400, 600, 800, 1000, 1200, 1500]
        else:
            bins, sizes = [500, 1500, 4000, 8000, 15000], [300, 400, 500, 600, 800, 1000]
        diam = np.array(sizes)[np.searchsorted(bins, load)]
        material = np.where(diam >= (800 if net == "rain" else 600), "钢筋混凝土", "HDPE双壁波纹管")
        pressure = np.full(len(pa), "重力流", dtype=object)
    else:
        lo, hi = {"water": (1.2, 1.7), "gas": (0.9, 1.4), "heating": (1.5, 2.3)}[net]
        ndepth = rng.uniform(lo, hi, nnode)
        trunk = (dist[frm] < 1500) & (grade == 0)
        if net == "water":
            diam = np.where(trunk, 600, np.array([400, 300, 200])[grade])
            diam = np.where((grade == 2) & (rng.random(len(pa)) < 0.4), 150, diam)
            pressure = np.where(trunk, "0.6MPa", "0.4MPa").astype(object)
            material = np.where(years < 2000, "灰口铸铁", np.where(diam >= 300, "球墨铸铁", "PE"))
        elif net == "gas":
            pressure = np.array(["中压A", "中压B", "低压"], dtype=object)[grade]
            pressure[trunk] = "次高压"
            diam = np.select([pressure == "次高压", pressure == "中压A", pressure == "中压B"], [300, 250, 200],
                             np.where(rng.random(len(pa)) < 0.5, 110, 160))
            material = np.where(np.isin(pressure, ["次高压", "中压A"]), "钢", "PE")
        else:
            diam = np.where(dist[frm] < 1500, 600, np.array([400, 300, 200])[grade])
            pressure = np.full(len(pa), "1.6MPa", dtype=object)
            material = np.full(len(pa), "钢(预制直埋保温管)", dtype=object)
    ndepth = np.round(ndepth, 3)
    status = rng.choice(["正常", "维修", "停用"], size=nnode, p=[0.96, 0.025, 0.015])

    # rain inlets (雨水口) feeding intermediate manholes through short laterals
    extra_pipes = []
    if net == "rain":
        mids = [k for k in range(len(verts), nnode) if rng.random() < 0.35]
        lx = list(nx)
        ly = list(ny)
        kinds = list(kinds)
        ndepth = list(ndepth)
        status = list(status)
        for m in mids:
            lx.append(lx[m] - 0.6 * off)
            ly.append(ly[m] - 0.6 * off)
            kinds.append("雨水口")
            ndepth.append(0.8)
            status.append("正常")
            extra_pipes.append((len(lx) - 1, m, int(E["road"][node_edge[m]])))
        nx, ny = np.array(lx), np.array(ly)
        kinds = np.array(kinds, dtype=object)
        ndepth = np.array(ndepth)
        status = np.array(status, dtype=object)
        nnode = len(nx)

    lon, lat = t.frame.lonlat(nx, ny)
    pre = NET_PREFIX[net]
    codes = [f"{pre}S{k + 1:06d}" for k in range(nnode)]
    pts = shapely.points(lon, lat)
    nodes = [{"code": codes[k], "network": net, "kind": str(kinds[k]), "depth_m": float(ndepth[k]),
              "status": str(status[k]), "geom": pts[k]} for k in range(nnode)]
    all_frm = list(frm) + [a for a, _b, _r in extra_pipes]
    all_to = list(to) + [b for _a, b, _r in extra_pipes]
    all_road = list(road) + [r for _a, _b, r in extra_pipes]
    nmain = len(frm)
    coords = np.stack([np.column_stack([lon[all_frm], lat[all_frm]]),
                       np.column_stack([lon[all_to], lat[all_to]])], axis=1)
    lines = shapely.linestrings(coords)
    pipes = []
    for k in range(len(all_frm)):
        a, b = int(all_frm[k]), int(all_to[k])
        if k < nmain:
            dmm, mat, prs, yr = int(diam[k]), str(material[k]), str(pressure[k]), int(years[k])
        else:
            dmm, mat, prs, yr = 300, "HDPE双壁波纹管", "重力流", int(years[int(rng.integers(nmain))])
        pipes.append({
            "code": f"{pre}L{k + 1:06d}", "network": net, "diameter_mm": dmm, "material": mat,
            "pressure_class": prs, "depth_m": round((float(ndepth[a]) + float(ndepth[b])) / 2, 3),
            "install_year": yr, "from_node": codes[a], "to_node": codes[b], "owner_dept": NET_OWNER[net],
            "road_code": t.roads[int(all_road[k])]["code"],
            "length_m": round(float(np.hypot(nx[b] - nx[a], ny[b] - ny[a])), 2),
            "geom": lines[k],
        })
    inf = {"x": nx, "y": ny, "kind": kinds, "code": codes, "roots": root_nodes, "edges": sorted(keep),
           "node_road": [int(E["road"][node_edge[k]]) if k < len(node_edge) and node_edge[k] >= 0 else -1
                         for k in range(nnode)],
           "pipes": pipes, "frm": np.array(all_frm), "to": np.array(all_to), **special}
    # road of vertex nodes: any incident kept edge
    for e in keep:
        for v in (int(E["u"][e]), int(E["v"][e])):
            if inf["node_road"][vindex[v]] < 0:
                inf["node_road"][vindex[v]] = int(E["road"][e])
    return nodes, pipes, inf


# --------------------------------------------------------------------------
# Door plates
# --------------------------------------------------------------------------
def _build_addresses(t: _Town):
    rng = t.rng(12)
    xs_, ys_, meta = [], [], []
    for k, r in enumerate(t.roads):
        cum, x, y = r["cum"], r["x"], r["y"]
        for side, first in ((1, 1), (-1, 2)):  # left of travel: odd numbers; right: even
            steps = rng.uniform(25, 40, int(r["length_m"] / 25) + 2)
            s = rng.uniform(8, 20) + np.concatenate([[0.0], np.cumsum(steps)])
            s = s[s < r["length_m"] - 8]
            seg = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(x) - 2)
            f = (s - cum[seg]) / (cum[seg + 1] - cum[seg])
            dx, dy = x[seg + 1] - x[seg], y[seg + 1] - y[seg]
            ln = np.hypot(dx, dy)
            off = side * (r["width_m"] / 2 + rng.uniform(3, 8, len(s)))
            xs_.append(x[seg] + f * dx - dy / ln * off)
            ys_.append(y[seg] + f * dy + dx / ln * off)
            meta.extend((k, first + 2 * n) for n in range(len(s)))
    px, py = np.concatenate(xs_), np.concatenate(ys_)
    cell = t.cell_of_local(px, py)
    near_river = shapely.distance(shapely.points(px, py), t.river_local) < 35.0
    ok = (cell >= 0) & ~near_river
    lon, lat = t.frame.lonlat(px, py)
    pts = shapely.points(lon, lat)
    out = []
    for n in np.nonzero(ok)[0]:
        k, number = meta[n]
        r = t.roads[k]
        g = int(cell[n])
        q = int(t.comm[g])
        sname = STREETS[t.comm_street[q]][1]
        out.append({
            "code": f"{t.comm_code[q]}{r['code'][1:]}{number:04d}",
            "road_code": r["code"], "road_name": r["name"], "number": int(number),
            "full_address": f"{COUNTY_NAME}{sname}{r['name']}{number}号",
            "community_code": t.comm_code[q], "grid_code": str(t.grid_code[g]),
            "geom": pts[n],
        })
    t.addr_xy = np.column_stack([px[ok], py[ok]])
    t.addr_text = [a["full_address"] for a in out]
    return out


# --------------------------------------------------------------------------
# Points of interest
# --------------------------------------------------------------------------
_POI_PLAN = [
    # category, names, preferred land uses, near-centre scale (m) or None
    ("学校", ["西平县高级中学", "西平县第二高级中学", "西平县实验中学", "西平县第一初级中学", "西平县第二初级中学",
            "西平县第三初级中学", "柏城中学", "柏亭中学", "柏苑中学", "西平县职业教育中心", "西平县特殊教育学校",
            "西平县第一小学", "西平县第二小学", "西平县第三小学", "西平县第四小学", "西平县第五小学",
            "西平县第六小学", "西平县第七小学", "西平县第八小学", "西平县第九小学", "西平县第十小学",
            "柏城街道中心小学", "柏亭街道中心小学", "柏苑街道中心小学", "嫘祖小学", "西平县实验小学", "育才学校"],
     ("公共服务", "居住"), None),
    ("幼儿园", ["西平县第一幼儿园", "西平县第二幼儿园", "西平县第三幼儿园", "西平县第四幼儿园", "西平县第五幼儿园",
             "柏城幼儿园", "柏亭幼儿园", "阳光幼儿园", "小天鹅幼儿园", "蓓蕾幼儿园", "金太阳幼儿园", "育英幼儿园"],
     ("居住", "公共服务"), None),
    ("医院", ["西平县人民医院", "西平县中医院", "西平县妇幼保健院", "西平县第二人民医院", "西平县骨科医院",
            "柏城街道社区卫生服务中心", "柏亭街道社区卫生服务中心", "柏苑街道社区卫生服务中心",
            "西平县疾病预防控制中心"], ("公共服务",), 1500.0),
    ("农贸市场", ["西关农贸市场", "东关农贸市场", "南关农贸市场", "北关农贸市场", "人民路农贸市场",
              "健康路农贸市场", "柏苑农贸市场", "车站路农贸市场"], ("商业", "居住"), None),
    ("商场", ["西平百货大楼", "嫘祖购物中心", "柏亭商业广场", "西平商贸城", "金鼎国际商城", "中原家居广场"],
     ("商业",), 900.0),
    ("公园", ["西平县人民公园", "嫘祖文化广场", "柳堰河湿地公园", "柏亭公园", "棠溪源公园", "龙泉公园"],
     ("绿地",), None),
    ("加油站", ["中国石化西平城北加油站", "中国石化西平人民路加油站", "中国石油西平西环路加油站",
             "中国石油西平东环路加油站", "中国石化西平南环加油站", "西平县嫘祖大道加油站",
             "中国石化西平车站路加油站", "中国石油西平建设路加油站"], ("工业", "居住", "绿地"), -2000.0),
    ("车站", ["西平站", "西平县汽车客运站", "西平县汽车北站", "西平县公交总站"], ("道路广场", "商业", "工业"), None),
    ("银行", ["中国工商银行西平支行", "中国农业银行西平支行", "中国银行西平支行", "中国建设银行西平支行",
            "中国邮政储蓄银行西平县支行", "西平农商银行营业部", "西平农商银行柏城支行", "西平农商银行柏亭支行",
            "西平农商银行柏苑支行", "中原银行西平支行"], ("商业",), 1200.0),
    ("宾馆酒店", ["西平宾馆", "嫘祖大酒店", "柏亭商务酒店", "棠溪宾馆", "西平国际大酒店", "龙泉饭店"],
     ("商业",), 1500.0),
    ("文体场馆", ["西平县体育场", "西平县全民健身中心", "西平县图书馆", "西平县文化馆", "西平县博物馆",
              "西平县影剧院"], ("公共服务", "绿地"), 1800.0),
    ("养老机构", ["西平县社会福利中心", "柏城街道敬老院", "柏苑街道敬老院"], ("公共服务", "居住", "绿地"), None),
]
PEOPLE_DENSE = ("学校", "幼儿园", "医院", "农贸市场", "商场", "车站")


def _build_pois(t: _Town, nets: dict):
    rng = t.rng(13)
    used = np.zeros(t.ncell, dtype=bool)
    d = np.hypot(t.cx, t.cy)
    items = []  # (category, name, x, y)

    def pick(prefs, scale):
        ok = ~used & ~t.wet
        cand = np.nonzero(ok & np.isin(t.land, list(prefs)))[0]
        if len(cand) == 0:
            cand = np.nonzero(ok)[0]
        if scale is None:
            w = np.ones(len(cand))
        elif scale > 0:
            w = np.exp(-d[cand] / scale)
        else:
            w = 1.0 - np.exp(d[cand] / scale)
        g = int(cand[int(rng.choice(len(cand), p=w / w.sum()))])
        used[g] = True
        uu, vv = rng.uniform(0.25, 0.75, 2)
        qx, qy = t.qx[g], t.qy[g]
        x = (1 - vv) * ((1 - uu) * qx[0] + uu * qx[1]) + vv * ((1 - uu) * qx[3] + uu * qx[2])
        y = (1 - vv) * ((1 - uu) * qy[0] + uu * qy[1]) + vv * ((1 - uu) * qy[3] + uu * qy[2])
        return float(x), float(y)

    for cat, names, prefs, scale in _POI_PLAN:
        for nm in names:
            items.append((cat, nm, *pick(prefs, scale)))
    for _code, name, _parent, kind in DEPARTMENTS:
        cat = "公用事业单位" if kind == "utility" else "政府机关"
        items.append((cat, name, *pick(("公共服务", "商业"), 1200.0)))
    n_estates = 110
    combos = [p + s for p in ESTATE_PREFIX for s in ESTATE_SUFFIX]
    for idx in rng.choice(len(combos), size=n_estates, replace=False):
        items.append(("住宅小区", combos[int(idx)], *pick(("居住",), None)))

    # network facilities: placed at (or just outside) their source nodes
    def outward(x, y, dist):
        n = math.hypot(x, y) or 1.0
        return x + x / n * dist, y + y / n * dist
    w, g, h, s = nets["water"], nets["gas"], nets["heating"], nets["sewage"]
    facilities = [("水厂", "西平县第一水厂", w, w["roots"][0], 120.0),
                  ("燃气门站", "西平县天然气门站", g, g["roots"][0], 100.0),
                  ("热源厂", "西平县热电厂", h, h["roots"][0], 150.0),
                  ("污水处理厂", "西平县污水处理厂", s, s["roots"][0], 180.0)]
    for cat, name, net, k, dist in facilities:
        items.append((cat, name, *outward(float(net["x"][k]), float(net["y"][k]), dist)))
    for k in g["regulators"]:
        road = t.roads[g["node_road"][k]]["name"]
        items.append(("燃气调压站", f"{road}燃气调压站", float(g["x"][k]), float(g["y"][k])))
    for k in h["stations"]:
        road = t.roads[h["node_road"][k]]["name"]
        items.append(("换热站", f"{road}换热站", float(h["x"][k]), float(h["y"][k])))
    names = [it[1] for it in items]
    seen = {}
    for n, nm in enumerate(names):  # the same road may host two stations
        if nm in seen:
            seen[nm] += 1
            cat, _nm, x, y = items[n]
            items[n] = (cat, nm.replace(cat, f"{seen[nm]}号{cat}") if cat in nm else f"{nm}{seen[nm]}", x, y)
        else:
            seen[nm] = 1

    px = np.array([it[2] for it in items])
    py = np.array([it[3] for it in items])
    tree = shapely.STRtree(shapely.points(t.addr_xy[:, 0], t.addr_xy[:, 1]))
    idx, dists = tree.query_nearest(shapely.points(px, py), return_distance=True, all_matches=False)
    near = np.empty(len(items), dtype=np.int64)
    near[idx[0]] = idx[1]
    dd = np.empty(len(items))
    dd[idx[0]] = dists
    lon, lat = t.frame.lonlat(px, py)
    pts = shapely.points(lon, lat)
    out = []
    for n, (cat, name, _x, _y) in enumerate(items):
        addr = t.addr_text[int(near[n])] + ("附近" if dd[n] > 60 else "")
        out.append({"code": f"P{n + 1:05d}", "name": name, "category": cat, "address": addr, "geom": pts[n]})
    t.poi_xy = np.column_stack([px, py])
    t.poi_items = items
    return out


# --------------------------------------------------------------------------
# Management components (columnar)
# --------------------------------------------------------------------------
def _allocate(n: int, weights: np.ndarray) -> np.ndarray:
    raw = weights / weights.sum() * n
    base = np.floor(raw).astype(np.int64)
    rest = n - base.sum()
    order = np.lexsort((np.arange(len(raw)), -(raw - base)))
    base[order[:rest]] += 1
    return base


def _build_components(t: _Town, scale: float, nets: dict):
    rng = t.rng(40)
    n_total = int(round(COMPONENTS_PER_SCALE * scale))
    E = t.E
    weights = np.array([m[1] for m in _MIX], dtype=float)
    counts = _allocate(n_total, weights)
    if counts.max() > MAX_SERIAL:
        raise ValueError(f"scale {scale} needs more than {MAX_SERIAL} serials in one component class")
    road_len = np.array([r["length_m"] for r in t.roads])
    ms = E["grade"] <= 1
    pools = {"all": np.arange(len(E["u"])), "ms": np.nonzero(ms)[0]}
    for net in NETWORKS:
        pools[net] = np.array(nets[net]["edges"], dtype=np.int64)
    ex0, ey0 = _vxy(t, E["u"])
    ex1, ey1 = _vxy(t, E["v"])
    # address text: road name + third of the road
    sect = {"h": ("西段", "中段", "东段"), "v": ("北段", "中段", "南段")}
    addr_table = np.array([r["name"] + sect[r["orient"]][k] for r in t.roads for k in range(3)])
    office = np.array([STREET_OFFICE[STREETS[s][0]] for s in range(3)])

    cols = {k: [] for k in ("cls", "x", "y", "cell", "addr")}
    for ci, (code, _w, pool, gw, (olo, ohi), _own, _mnt) in enumerate(_MIX):
        need = int(counts[ci])
        if need == 0:
            continue
        edges = pools[pool]
        w = E["len"][edges] * np.array(gw)[E["grade"][edges]]
        p = w / w.sum()
        got_x, got_y, got_cell, got_addr = [], [], [], []
        have = 0
        while have < need:
            m = int((need - have) * 1.15) + 16
            e = edges[rng.choice(len(edges), size=m, p=p)]
            tt = rng.uniform(0.04, 0.96, m)
            side = np.where(rng.random(m) < 0.5, 1.0, -1.0)
            off = rng.uniform(olo, ohi, m) * side
            dx, dy = ex1[e] - ex0[e], ey1[e] - ey0[e]
            ln = np.hypot(dx, dy)
            x = ex0[e] + tt * dx - dy / ln * off
            y = ey0[e] + tt * dy + dx / ln * off
            cell = t.cell_of_local(x, y)
            ok = np.nonzero(cell >= 0)[0][: need - have]
            frac = (E["s0"][e[ok]] + tt[ok] * E["len"][e[ok]]) / road_len[E["road"][e[ok]]]
            sec = np.minimum((frac * 3).astype(np.int64), 2)
            got_x.append(x[ok])
            got_y.append(y[ok])
            got_cell.append(cell[ok])
            got_addr.append(E["road"][e[ok]] * 3 + sec)
            have += len(ok)
        cols["cls"].append(np.full(need, ci))
        cols["x"].append(np.concatenate(got_x))
        cols["y"].append(np.concatenate(got_y))
        cols["cell"].append(np.concatenate(got_cell))
        cols["addr"].append(np.concatenate(got_addr))
    empty = {"cls": np.int64, "x": float, "y": float, "cell": np.int64, "addr": np.int64}
    cls, x, y, cell, addr = (np.concatenate(cols[k]) if cols[k] else np.zeros(0, dtype=empty[k]) for k in empty)
    n = len(cls)

    class_codes = np.array([m[0] for m in _MIX])
    names_by_code = {c: nm for c, nm, _ in _COMPONENT_SMALL}
    class_names = np.array([names_by_code[m[0]] for m in _MIX])
    serial = np.empty(n, dtype=np.int64)
    start = 0
    for c in counts:
        serial[start:start + c] = np.arange(1, c + 1)
        start += c
    head = np.empty((n, 10), dtype=np.uint8)  # '411721' + class code, as ASCII bytes
    head[:, :6] = np.frombuffer(COUNTY_CODE.encode(), dtype=np.uint8)
    head[:, 6:] = np.frombuffer("".join(class_codes).encode(), dtype=np.uint8).reshape(-1, 4)[cls]
    code = _code_array(head, serial, 6)

    cover = np.array([m[0] in COVER_CLASSES for m in _MIX])[cls]  # only covers go missing
    u = rng.random(n)
    status = np.where(u < 0.935, "完好", np.where(u < 0.975, "破损", np.where(u < 0.985, "丢失", "占用")))
    status = np.where(~cover & (status == "丢失"), "破损", status)
    street_office = office[t.cell_street[cell]]
    owner = np.array([m[5] for m in _MIX])[cls]
    maint = np.array([m[6] for m in _MIX])[cls]
    owner = np.where(owner == STREET, street_office, owner)
    maint = np.where(maint == STREET, street_office, maint)
    lon, lat = t.frame.lonlat(x, y)
    return {
        "code": code,
        "class_code": class_codes[cls],
        "name": class_names[cls],
        "status": status.astype("U2"),
        "owner_dept": owner.astype("U4"),
        "maintainer_dept": maint.astype("U4"),
        "grid_code": t.grid_code[cell],
        "address": addr_table[addr],
        "lon": lon,
        "lat": lat,
    }


# --------------------------------------------------------------------------
# Risk points (LEC: D = L x E x C, spec §8)
# --------------------------------------------------------------------------
# category -> ((L values, p), (E values, p), (C values, p))
_LEC = {
    "燃气管网": (([0.5, 1, 3, 6], [.1, .45, .4, .05]), ([2, 3, 6], [.15, .45, .4]), ([7, 15, 40], [.35, .55, .1])),
    "供水管网": (([0.5, 1, 3], [.15, .45, .4]), ([3, 6], [.35, .65]), ([7, 15, 40], [.5, .45, .05])),
    "排水管网": (([1, 3, 6], [.3, .6, .1]), ([2, 3, 6], [.25, .45, .3]), ([7, 15], [.55, .45])),
    "热力管网": (([0.5, 1, 3], [.15, .45, .4]), ([3, 6], [.35, .65]), ([7, 15, 40], [.45, .5, .05])),
    "桥梁": (([0.5, 1, 3], [.25, .45, .3]), ([6, 10], [.6, .4]), ([7, 15, 40], [.45, .47, .08])),
    "人员密集场所": (([0.5, 1, 3], [.15, .45, .4]), ([3, 6, 10], [.15, .5, .35]), ([3, 7, 15], [.1, .6, .3])),
    "危险化学品": (([0.5, 1, 3], [.25, .5, .25]), ([3, 6], [.5, .5]), ([15, 40], [.75, .25])),
}
_RISK_QUOTA = {"燃气管网": 26, "供水管网": 14, "排水管网": 20, "热力管网": 12, "桥梁": 99,
               "人员密集场所": 27, "危险化学品": 8}
RISK_TOTAL = 120


def _build_risk_points(t: _Town, nets: dict):
    rng = t.rng(14)
    cands = {k: [] for k in _RISK_QUOTA}  # category -> (name, network, reason, dept, x, y)
    g, w, r, s, h = (nets[k] for k in ("gas", "water", "rain", "sewage", "heating"))

    for k in g["regulators"]:
        nm = t.roads[g["node_road"][k]]["name"]
        cands["燃气管网"].append((f"{nm}燃气调压站", "gas", "调压设施，周边有居民和商铺", D_GAS,
                              g["x"][k], g["y"][k]))
    k = g["roots"][0]
    cands["燃气管网"].append(("西平县天然气门站", "gas", "次高压进站，连接城区中压管网", D_GAS, g["x"][k], g["y"][k]))
    dense = [(nm, x, y) for (cat, nm, x, y) in t.poi_items if cat in PEOPLE_DENSE]
    gp = g["pipes"]
    gmx = (g["x"][g["frm"]] + g["x"][g["to"]]) / 2
    gmy = (g["y"][g["frm"]] + g["y"][g["to"]]) / 2
    gpress = np.array([p["pressure_class"] for p in gp])
    mid_press = np.isin(gpress, ["中压A", "次高压"])
    for nm, x, y in dense:
        dd = np.hypot(gmx - x, gmy - y)
        dd[~mid_press] = np.inf
        k = int(np.argmin(dd))
        if dd[k] < 150:
            cands["燃气管网"].append((f"{nm}周边中压燃气管道", "gas", f"{gp[k]['pressure_class']}管道邻近人员密集场所",
                                  D_GAS, gmx[k], gmy[k]))
    old = [k for k, p in enumerate(gp) if p["install_year"] <= 2000 and p["material"] == "钢"]
    for k in rng.permutation(old)[:12] if old else []:
        p = gp[int(k)]
        road = t.roads[int(p["road_code"][1:]) - 1]["name"]
        cands["燃气管网"].append((f"{road}老旧燃气管道", "gas", f"{p['install_year']}年敷设的钢质管道，存在腐蚀风险",
                              D_GAS, gmx[int(k)], gmy[int(k)]))

    wp = w["pipes"]
    wmx = (w["x"][w["frm"]] + w["x"][w["to"]]) / 2
    wmy = (w["y"][w["frm"]] + w["y"][w["to"]]) / 2
    k = w["roots"][0]
    cands["供水管网"].append(("西平县第一水厂出厂管", "water", "水源出厂干管，停水影响全城", D_WATER, w["x"][k], w["y"][k]))
    old = [k for k, p in enumerate(wp) if p["material"] == "灰口铸铁"]
    old.sort(key=lambda k: (-wp[k]["diameter_mm"], k))
    for k in old[:30]:
        road = t.roads[int(wp[k]["road_code"][1:]) - 1]["name"]
        cands["供水管网"].append((f"{road}老旧供水管道", "water",
                              f"DN{wp[k]['diameter_mm']}灰口铸铁管，{wp[k]['install_year']}年敷设，爆管风险",
                              D_WATER, wmx[k], wmy[k]))

    for k in r["roots"]:
        road = t.roads[r["node_road"][k]]["name"]
        cands["排水管网"].append((f"{road}雨水排放口", "rain", "柳堰河高水位时可能倒灌", D_DRAIN, r["x"][k], r["y"][k]))
    for b in t.bridges:
        if b["kind"] == "立交桥":
            c = b["_local"].interpolate(0.5, normalized=True)
            cands["排水管网"].append((f"{b['name']}桥下易涝点", "rain", "下凹路段，暴雨时易积水", D_DRAIN, c.x, c.y))
    rx, ry = np.asarray(r["x"]), np.asarray(r["y"])
    kind = np.asarray(r["kind"])
    mh = np.nonzero(kind == "雨水检查井")[0]
    dr = shapely.distance(shapely.points(rx[mh], ry[mh]), t.river_local)
    low = mh[np.argsort(dr, kind="stable")][:40:4]
    for k in low:
        road = t.roads[r["node_road"][k]]["name"]
        cands["排水管网"].append((f"{road}低洼易涝点", "rain", "临河低洼地段，排水不畅时易内涝", D_DRAIN, rx[k], ry[k]))
    k = s["roots"][0]
    cands["排水管网"].append(("污水处理厂进水口", "sewage", "污水总排放口，满管溢流风险", D_DRAIN, s["x"][k], s["y"][k]))

    k = h["roots"][0]
    cands["热力管网"].append(("西平县热电厂出厂管", "heating", "热源出口高温高压干管", D_HEAT, h["x"][k], h["y"][k]))
    for k in h["stations"]:
        road = t.roads[h["node_road"][k]]["name"]
        cands["热力管网"].append((f"{road}换热站", "heating", "换热设备与高温管道", D_HEAT, h["x"][k], h["y"][k]))
    hp = h["pipes"]
    for k in [k for k, p in enumerate(hp) if p["install_year"] <= 2003][:6]:
        road = t.roads[int(hp[k]["road_code"][1:]) - 1]["name"]
        x = (h["x"][h["frm"][k]] + h["x"][h["to"][k]]) / 2
        y = (h["y"][h["frm"][k]] + h["y"][h["to"][k]]) / 2
        cands["热力管网"].append((f"{road}老旧热力管道", "heating", f"{hp[k]['install_year']}年敷设，保温层老化", D_HEAT, x, y))

    for b in t.bridges:
        c = b["_local"].interpolate(0.5, normalized=True)
        reason = f"{b['structure']}，{b['build_year']}年建成" + ("，跨柳堰河" if b["river"] else "，跨线立交")
        cands["桥梁"].append((b["name"], None, reason, b["maintainer_dept"], c.x, c.y))
    for cat, nm, x, y in t.poi_items:
        if cat in PEOPLE_DENSE:
            cands["人员密集场所"].append((nm, None, f"{cat}，高峰时段人员密集", D_YJJ, x, y))
        elif cat == "加油站":
            cands["危险化学品"].append((nm, None, "储存成品油，属危险化学品经营场所", D_YJJ, x, y))
    cands["危险化学品"].append(("西平县天然气门站储气区", "gas", "储存天然气，属重大危险源候选", D_YJJ,
                           g["x"][g["roots"][0]] + 30.0, g["y"][g["roots"][0]]))

    chosen = []
    for cat, quota in _RISK_QUOTA.items():
        lst = cands[cat]
        take = min(quota, len(lst))
        idx = sorted(rng.choice(len(lst), size=take, replace=False)) if take < len(lst) else range(len(lst))
        chosen.extend((cat, *lst[i]) for i in idx)
    spare = [(cat, *c) for cat in ("人员密集场所", "燃气管网", "排水管网", "供水管网") for c in cands[cat]
             if (cat, *c) not in chosen]
    while len(chosen) < RISK_TOTAL and spare:
        chosen.append(spare.pop(0))
    chosen = chosen[:RISK_TOTAL]

    px = np.array([float(c[5]) for c in chosen])
    py = np.array([float(c[6]) for c in chosen])
    lon, lat = t.frame.lonlat(px, py)
    pts = shapely.points(lon, lat)
    out = []
    for n, (cat, name, net, reason, dept, _x, _y) in enumerate(chosen):
        (lv, lp), (ev, ep), (cv, cp) = _LEC[cat]
        L = float(rng.choice(lv, p=lp))
        E_ = float(rng.choice(ev, p=ep))
        C = float(rng.choice(cv, p=cp))
        D = L * E_ * C
        out.append({
            "code": f"RP{n + 1:04d}", "name": name, "category": cat, "network": net,
            "level": _lec_level(D),
            "description": f"{reason}。LEC评价：L={L:g}，E={E_:g}，C={C:g}，D={D:g}。",
            "dept_code": dept, "geom": pts[n],
        })
    return out


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------
def generate(scale: float = 1.0, seed: int = 411721) -> Dataset:
    """Generate the Xiping demo dataset (deterministic for a given seed and scale)."""
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError("scale must be a positive number")
    seed = int(seed)
    t = _Town(seed)
    t.build_lattice()
    t.plan_roads()
    t.build_vertices()
    county_local = _build_county(t)
    rivers = _build_rivers(t, county_local)
    _build_roads(t)
    _build_regions(t)
    unit_grids = _build_unit_grids(t)
    county, streets, communities = _build_admin(t, county_local)
    resp_grids = _build_resp_grids(t)
    bridges = _build_bridges(t)
    pipe_nodes, pipes, nets = _build_networks(t)
    addresses = _build_addresses(t)
    pois = _build_pois(t, nets)
    risk_points = _build_risk_points(t, nets)
    components = _build_components(t, scale, nets)

    roads = [{"code": r["code"], "name": r["name"], "grade": r["grade"], "width_m": r["width_m"],
              "length_m": round(r["length_m"], 1), "geom": r["geom"]} for r in t.roads]
    river_rows = [{"code": c, "name": nm, "geom": t.frame.geom(g)} for c, nm, g in rivers]
    for b in bridges:
        del b["_local"]
    departments = [{"code": c, "name": nm, "parent_code": p, "kind": k} for c, nm, p, k in DEPARTMENTS]
    component_classes = [{"type": "部件", "big_code": c[:2], "small_code": c, "big_name": COMPONENT_BIG[c[:2]],
                          "name": nm, "confirmed": ok} for c, nm, ok in _COMPONENT_SMALL]
    event_classes = [{"type": "事件", "big_code": c[:2], "small_code": c, "big_name": EVENT_BIG[c[:2]],
                      "name": nm, "confirmed": ok} for c, nm, ok in _EVENT_SMALL]
    meta = {"seed": seed, "scale": float(scale), "srid": STORAGE_EPSG, "metric_srid": METRIC_EPSG,
            "county_code": COUNTY_CODE, "town_centre": TOWN_CENTRE_LONLAT, "demo_codes": True,
            "note": "演示数据：街道、社区、网格、部门等编码为演示编码，非官方编码。"}
    return Dataset(county=county, streets=streets, communities=communities, unit_grids=unit_grids, roads=roads,
                   rivers=river_rows, bridges=bridges, departments=departments, resp_grids=resp_grids,
                   components=components, component_classes=component_classes, event_classes=event_classes,
                   addresses=addresses, pois=pois, pipe_nodes=pipe_nodes, pipes=pipes, risk_points=risk_points,
                   meta=meta)
