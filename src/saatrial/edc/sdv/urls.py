"""URLs of source-data verification (namespace ``sdv``)."""

from django.urls import path

from saatrial.edc.sdv import views

app_name = "sdv"

urlpatterns = [
    path(
        "subjects/<str:subject_id>/<slug:table>/<int:pk>/verify/",
        views.VerifyRecordView.as_view(),
        name="verify",
    ),
]
