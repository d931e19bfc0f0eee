"""kamlib: key-account analytics — validated data, CLV models, segmentation, economics, reports."""
from .data.dataset import Dataset
from .data.loading import load_dataset
from .analysis.metrics import MetricsRecorder
from .analysis.rfm import rfm_summary
from .data.schema import DataQuality, DataValidationError

__version__ = "0.1.0"
__all__ = ["Dataset", "DataQuality", "DataValidationError", "MetricsRecorder", "load_dataset", "rfm_summary", "__version__"]
