"""Import every model module so Base.metadata knows all tables (for Alembic)."""
from geo import models  # noqa: F401
from webapp.auth import models as auth_models  # noqa: F401
from webapp.admin import models as admin_models  # noqa: F401
from webapp.admin import workflow_store as _workflow_models, mobile as _mobile_models  # noqa: F401
from webapp.guidance import models as guidance_models  # noqa: F401
from webapp.admin import spatial_models  # noqa: F401
from webapp.cases import calendar_admin as _cases_calendar_models  # noqa: F401
from webapp.cases import dispatch_rules as _dispatch_rules_models  # noqa: F401
from webapp.cases import models as cases_models  # noqa: F401
from webapp.cases import difficult_models as _difficult_models  # noqa: F401
from etl.iot import models as _iot_models  # noqa: F401
from webapp.lifeline import risk_models as _lifeline_risk_models  # noqa: F401
from webapp.lifeline import emergency_models as _lifeline_emergency_models  # noqa: F401
from webapp.lifeline import alarm_models as _lifeline_alarm_models  # noqa: F401
from webapp.lifeline import hazard_models as _lifeline_hazard_models, inspection_models as _lifeline_inspection_models  # noqa: F401
from webapp.lifeline import docking_models as _lifeline_docking_models  # noqa: F401
from geo.db import Base

metadata = Base.metadata
