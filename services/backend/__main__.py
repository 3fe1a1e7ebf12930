"""`python -m services.backend`: migrate the database, then serve the API with uvicorn."""

from __future__ import annotations

import gc

import uvicorn

from services.backend.app import create_app
from services.backend.lag_gauges import observe_consumer_lag
from services.backend.migrate import upgrade
from services.shared.settings import get_settings
from tracing import setup_tracing
from tracing.instrumentation import instrument_libraries
from tracing.logs import configure_logging
from tracing.metrics import setup_metrics
from tracing.service_names import BACKEND


def main() -> None:
    settings = get_settings()
    configure_logging(BACKEND)
    setup_tracing(BACKEND)  # flushed at exit by the provider's own atexit hook
    if setup_metrics(BACKEND) is not None:
        observe_consumer_lag(settings)   # here, because the dispatcher may be the one down
    upgrade(settings.database_url)
    instrument_libraries(sqlalchemy=True, redis=True, celery=True)
    app = create_app(settings)
    # What start-up made lives as long as the process: out of the collector's sight, so a
    # full collection walks a request's garbage, not every module (a ~100 ms pause before).
    gc.freeze()
    uvicorn.run(app, host=settings.backend_host, port=settings.backend_port,
                log_config=None)     # uvicorn's loggers go to the root's JSON handler


if __name__ == "__main__":
    main()
