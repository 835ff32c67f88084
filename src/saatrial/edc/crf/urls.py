"""URLs of the case report forms (namespace ``crf``)."""

from django.urls import path

from saatrial.edc.crf import locks, views

app_name = "crf"

urlpatterns = [
    path("subjects/search/", views.SearchView.as_view(), name="search"),
    path("subjects/new/", views.SubjectCreateView.as_view(), name="subject_add"),
    path("subjects/<str:subject_id>/", views.SubjectDetailView.as_view(), name="subject"),
    path("subjects/<str:subject_id>/edit/", views.SubjectEditView.as_view(), name="subject_edit"),
    path(
        "subjects/<str:subject_id>/delete/",
        views.SubjectDeleteView.as_view(),
        name="subject_delete",
    ),
    path("subjects/<str:subject_id>/screening/", views.ScreeningView.as_view(), name="screening"),
    path("subjects/<str:subject_id>/audit/", views.SubjectAuditView.as_view(), name="audit"),
    path("subjects/<str:subject_id>/lock/", locks.SubjectLockView.as_view(), name="subject_lock"),
    path(
        "subjects/<str:subject_id>/<slug:table>/add/", views.RowCreateView.as_view(), name="row_add"
    ),
    path(
        "subjects/<str:subject_id>/<slug:table>/<int:pk>/edit/",
        views.RowEditView.as_view(),
        name="row_edit",
    ),
    path(
        "subjects/<str:subject_id>/<slug:table>/<int:pk>/delete/",
        views.RowDeleteView.as_view(),
        name="row_delete",
    ),
    path("study/", views.StudyTablesView.as_view(), name="study"),
    path("study/lock/", locks.StudyLockView.as_view(), name="study_lock"),
]
