"""`python -m services.azure_token`: the refresher beside the collector on Azure."""

from __future__ import annotations

import logging

from services.azure_token.refresher import TokenSettings, run


def main() -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s azure-token %(message)s")
    from azure.identity import DefaultAzureCredential  # only this sidecar needs it

    run(DefaultAzureCredential(), TokenSettings())


if __name__ == "__main__":
    main()
