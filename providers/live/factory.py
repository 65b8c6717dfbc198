"""Build the live clients on first use, once per provider, from one set of client settings.

Each provider's SDK is imported here only when that provider is first asked for a price, so a
check of an AWS-only plan never imports google-cloud or azure.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import msgspec

from tollgate.providers.live.base import ClientSettings, LivePriceClient, MachineShape, ProviderUnavailable, SpendClient

_INSTALL_HINT = "install the live extra: pip install 'tollgate[live]'"


class DefaultClientFactory(msgspec.Struct):
    settings: ClientSettings
    shape_lookup: Callable[[str, str], MachineShape | None]
    _price_clients: dict[str, LivePriceClient] = msgspec.field(default_factory=dict)
    _spend_clients: dict[str, SpendClient] = msgspec.field(default_factory=dict)
    _lock: threading.Lock = msgspec.field(default_factory=threading.Lock)

    def price_client(self, provider: str) -> LivePriceClient:
        with self._lock:  # the pool's threads ask at once; build each client exactly once
            client = self._price_clients.get(provider)
            if client is None:
                client = self._price_clients[provider] = self._build_price_client(provider)
            return client

    def spend_client(self, provider: str) -> SpendClient:
        with self._lock:
            client = self._spend_clients.get(provider)
            if client is None:
                client = self._spend_clients[provider] = self._build_spend_client(provider)
            return client

    def _build_price_client(self, provider: str) -> LivePriceClient:
        try:
            if provider == "aws":
                from tollgate.providers.live.aws import AwsPriceClient

                return AwsPriceClient(self.settings)
            if provider == "gcp":
                from tollgate.providers.live.gcp import GcpPriceClient

                gcp: Any = GcpPriceClient(self.settings, self.shape_lookup)
                return gcp  # type: ignore[no-any-return]
            if provider == "azure":
                from tollgate.providers.live.azure import AzurePriceClient

                return AzurePriceClient(self.settings)
        except ImportError as error:
            raise ProviderUnavailable(f"{provider}-sdk", f"{error.name or error} is not installed; {_INSTALL_HINT}") from None
        raise ProviderUnavailable(provider, "no live price API for this provider")

    def _build_spend_client(self, provider: str) -> SpendClient:
        try:
            if provider == "aws":
                from tollgate.providers.live.aws import AwsSpendClient

                return AwsSpendClient(self.settings)
            if provider == "azure":
                from tollgate.providers.live.azure import AzureSpendClient

                return AzureSpendClient(self.settings)
        except ImportError as error:
            raise ProviderUnavailable(f"{provider}-sdk", f"{error.name or error} is not installed; {_INSTALL_HINT}") from None
        raise ProviderUnavailable(provider, "no spend API for this provider (aws and azure have one)")
