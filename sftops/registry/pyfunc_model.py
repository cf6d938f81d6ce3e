"""The MLflow models-from-code file of the ONNX pyfunc: MLflow copies it into the logged model and runs it on load.

Not imported by sftops itself; `log_and_register` passes its path as `python_model` (no pickling).
"""

from mlflow.models import set_model

from sftops.registry._pyfunc import OnnxBundleModel

set_model(OnnxBundleModel())
