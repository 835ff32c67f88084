"""URLs of data queries (namespace ``queries``)."""

from django.urls import path

from saatrial.edc.queries import views

app_name = "queries"

urlpatterns = [
    path("queries/", views.QueryListView.as_view(), name="list"),
    path(
        "queries/raise/<str:subject_id>/<slug:table>/<int:pk>/",
        views.RaiseQueryView.as_view(),
        name="raise",
    ),
    path("queries/<int:pk>/", views.QueryDetailView.as_view(), name="detail"),
    path("queries/<int:pk>/<slug:action>/", views.QueryActionView.as_view(), name="action"),
]
