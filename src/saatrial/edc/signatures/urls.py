"""URLs of electronic signatures (namespace ``signatures``)."""

from django.urls import path

from saatrial.edc.signatures import views

app_name = "signatures"

urlpatterns = [
    path("subjects/<str:subject_id>/sign/", views.SignView.as_view(), name="sign"),
]
