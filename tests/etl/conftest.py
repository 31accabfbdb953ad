from tests.webapp.lifeline.conftest import iot_dsn, mqtt_broker  # noqa: F401  (the same session fixtures)
