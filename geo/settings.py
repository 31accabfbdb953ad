"""Runtime settings read once from the environment (one typed object)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    # Empty means: use the embedded cluster under var/pg.
    database_url: str = ""
    var_dir: Path = ROOT / "var"
    pg_port: int = 55432
    port: int = 5000
    secret_key: str = ""
    county_code: str = "411721"
    layers_dir: Path = ROOT / "layers"
    # Public base URL of the app, used in OGC links.
    base_url: str = ""

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ
        var_dir = Path(env.get("CITYOPS_VAR", ROOT / "var")).resolve()
        port = int(env.get("PORT", "5000"))
        return cls(
            database_url=env.get("DATABASE_URL", ""),
            var_dir=var_dir,
            pg_port=int(env.get("CITYOPS_PG_PORT", "55432")),
            port=port,
            secret_key=env.get("SECRET_KEY", ""),
            county_code=env.get("CITYOPS_COUNTY", "411721"),
            layers_dir=Path(env.get("CITYOPS_LAYERS", ROOT / "layers")).resolve(),
            base_url=env.get("CITYOPS_BASE_URL", f"http://127.0.0.1:{port}").rstrip("/"),
        )


def get_settings() -> Settings:
    return Settings.from_env()
