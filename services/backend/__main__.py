"""`python -m services.backend`: migrate the database, then serve the API with uvicorn."""

from __future__ import annotations

import uvicorn

from services.backend.app import create_app
from services.backend.migrate import upgrade
from services.shared.settings import get_settings


def main() -> None:
    settings = get_settings()
    upgrade(settings.database_url)
    uvicorn.run(create_app(settings), host=settings.backend_host, port=settings.backend_port,
                log_level="info")


if __name__ == "__main__":
    main()
