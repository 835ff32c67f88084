"""URLs of exports and analysis runs (namespace ``exports``)."""

from django.urls import path

from saatrial.edc.exports import views

app_name = "exports"

urlpatterns = [
    path("export/", views.ExportView.as_view(), name="export"),
    path("analysis/", views.AnalysisView.as_view(), name="analysis"),
    path("analysis/<str:run_id>/", views.ReportFileView.as_view(), name="report"),
    path("analysis/<str:run_id>/<path:name>", views.ReportFileView.as_view(), name="report_file"),
]
