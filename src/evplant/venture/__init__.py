"""The venture around the plant: supply, market, channel, contract manufacturing, finance.

``Venture(cfg, variants, months, seed)`` is what the month loop drives; see
:mod:`evplant.venture.core` for the order of calls and the columns it returns.
"""

from .channel import ChannelConfig, Patience
from .common import WEEKS_PER_MONTH, month_label, month_number
from .contract import ContractConfig
from .core import Venture, VentureConfig
from .episodes import Episodes
from .finance import CapexItem, FinanceConfig, Opex, UnitCost
from .market import ExportMarket, MarketConfig, Offer, Segment, VariantMarket
from .supply import ComponentConfig, KitSupply, SupplierConfig, SupplyConfig

__all__ = [
    "WEEKS_PER_MONTH",
    "CapexItem",
    "ChannelConfig",
    "ComponentConfig",
    "ContractConfig",
    "Episodes",
    "ExportMarket",
    "FinanceConfig",
    "KitSupply",
    "MarketConfig",
    "Offer",
    "Opex",
    "Patience",
    "Segment",
    "SupplierConfig",
    "SupplyConfig",
    "UnitCost",
    "VariantMarket",
    "Venture",
    "VentureConfig",
    "month_label",
    "month_number",
]
