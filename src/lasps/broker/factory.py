"""Building an :class:`~lasps.broker.manager.OrderManager` for ``--broker paper|kiwoom-rest|kiwoom-ocx``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lasps.broker.base import Broker
from lasps.broker.clock import Clock, clock_from_env
from lasps.broker.guard import ConfirmFn, Guard
from lasps.broker.journal import Journal
from lasps.broker.kiwoom_ocx import KiwoomOcxBroker
from lasps.broker.manager import OrderManager
from lasps.broker.prices import PriceSource, StorePrices
from lasps.broker.redact import register_secrets
from lasps.broker.settings import BROKERS, BrokerSettings, get_broker_settings, is_real_host
from lasps.config import ensure_home
from lasps.errors import ConfigError
from lasps.krx.costs import CostModel


def is_live(name: str, settings: BrokerSettings) -> bool:
    """True if broker ``name`` reaches a real-money market (real Kiwoom REST host, or OpenAPI+)."""
    if name == "kiwoom-ocx":
        return True
    if name == "kiwoom-rest":
        return is_real_host(settings.kiwoom_host)
    return False


def check_broker_name(name: str) -> str:
    if name not in BROKERS:
        raise ConfigError(f"unknown broker {name!r}", where="--broker", fix=f"choose one of {', '.join(BROKERS)}")
    return name


def make_broker(name: str, settings: BrokerSettings, clock: Clock, prices: PriceSource, **kw: Any) -> Broker:
    """The broker called ``name``, configured from ``settings``."""
    check_broker_name(name)
    if name == "paper":
        from lasps.broker.paper import PaperBroker

        costs = CostModel.from_settings(settings)  # commission / tax as configured (lasps.toml, LASPS_*)
        return PaperBroker.for_home(settings.home, prices, clock, initial_cash=settings.paper_cash,
                                    **({"costs": costs} | kw))
    if name == "kiwoom-rest":
        from lasps.broker.kiwoom_rest import KiwoomRestBroker

        return KiwoomRestBroker.from_settings(settings, **({"clock": clock} | kw))

    _, _, account = settings.require_kiwoom(need_keys=False)
    return KiwoomOcxBroker.create(account, **kw)


def open_manager(broker: str | None = None, *, home: Path | str | None = None, settings: BrokerSettings | None = None,
                 clock: Clock | None = None, prices: PriceSource | None = None, confirm: ConfirmFn | None = None,
                 reconcile: bool = True, broker_kwargs: dict[str, Any] | None = None) -> OrderManager:
    """An order manager for ``broker`` (default ``LASPS_BROKER``, i.e. ``paper``) in ``home``.

    The clock is ``LASPS_CLOCK`` when set (refused for live brokers), else the system clock; prices
    come from the market store. The journal is ``$LASPS_HOME/journal.sqlite``.
    """
    settings = settings or get_broker_settings(home=Path(home) if home is not None else None)
    if home is not None:
        settings = settings.model_copy(update={"home": Path(home)})
    name = check_broker_name(broker or settings.broker)
    register_secrets(settings.secret_values())
    clock = clock or clock_from_env(live=is_live(name, settings), broker=name)

    ensure_home(Path(settings.home))
    prices = prices or StorePrices(settings.home)
    b = make_broker(name, settings, clock, prices, **(broker_kwargs or {}))
    journal = Journal.for_home(settings.home)
    guard = Guard(clock, prices, settings.max_order_value)
    return OrderManager(b, journal, guard, clock=clock, confirm=confirm, grace_s=settings.reconcile_grace_s,
                        reconcile_on_start=reconcile)


__all__ = ["check_broker_name", "is_live", "make_broker", "open_manager"]
