"""kamlib: key-account analytics — validated data, CLV models, segmentation, economics, reports."""
from .dataset import Dataset
from .io import load_dataset
from .metrics import MetricsRecorder
from .rfm import rfm_summary
from .schema import DataQuality, DataValidationError

__version__ = "0.1.0"
__all__ = ["Dataset", "DataQuality", "DataValidationError", "MetricsRecorder", "load_dataset", "rfm_summary", "__version__"]
