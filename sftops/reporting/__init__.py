"""A self-contained HTML report for a registered model version.

Per-label scores and the confusion matrix, the gate's challenger-vs-champion comparison, calibration, the most
confident mistakes, the tuning study and the export variants, all read from MLflow (nothing is re-scored) and
drawn with sftops.evaluation's plots. The register step logs it on each new version (`log_version_report`);
`sftops report NAME@ALIAS` writes it to a file.
"""

from ._evidence import Evidence, Trial, Tuning, Variant, collect_evidence
from ._report import REPORT_ARTIFACT, REPORT_TAG, build_report, log_version_report, render_report, write_report
from ._sections import ReportSection, ReportTable

__all__ = [
    "REPORT_ARTIFACT",
    "REPORT_TAG",
    "Evidence",
    "ReportSection",
    "ReportTable",
    "Trial",
    "Tuning",
    "Variant",
    "build_report",
    "collect_evidence",
    "log_version_report",
    "render_report",
    "write_report",
]
