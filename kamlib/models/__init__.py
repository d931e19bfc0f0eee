"""Customer-lifetime models with statsmodels-style results: ``Model().fit(data)`` -> results.

- :class:`BGNBD`, :class:`MBGNBD` and :class:`ParetoNBD`: non-contractual repeat purchasing (input: ``rfm_summary``);
- :class:`GammaGamma`: spend per purchase (input: frequency and monetary_value of repeat buyers);
- :class:`ShiftedBetaGeometric`: contractual renewals (input: survivors of one or several cohorts).
"""
from .base import ConvergenceWarning, FitError, FitResults
from .bgnbd import BGNBD, BGNBDResults
from .gammagamma import GammaGamma, GammaGammaResults
from .mbgnbd import MBGNBD, MBGNBDResults
from .paretonbd import ParetoNBD, ParetoNBDResults
from .sbg import ShiftedBetaGeometric, ShiftedBetaGeometricResults

__all__ = ["BGNBD", "BGNBDResults", "MBGNBD", "MBGNBDResults", "ParetoNBD", "ParetoNBDResults", "GammaGamma", "GammaGammaResults",
           "ShiftedBetaGeometric", "ShiftedBetaGeometricResults", "FitResults", "ConvergenceWarning", "FitError"]
