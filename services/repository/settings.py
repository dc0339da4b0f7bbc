"""Settings of the repository service (env prefix IMI_REPOSITORY_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

SHIPPED_DEFINITIONS = Path(__file__).resolve().parent / "definitions"


class RepositorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IMI_REPOSITORY_", extra="ignore")

    service: str = "repository"
    port: int = 8005

    definitions_dir: Path = Field(
        default=SHIPPED_DEFINITIONS, description="where the repositories' definition files are"
    )
    import_max_bytes: int = Field(default=10_000_000, description="largest CSV file accepted")
    search_rank_window: int = Field(
        default=500, description="most matches of one search that are ranked"
    )
    import_max_rows: int = Field(default=20_000, description="most rows of one import")
