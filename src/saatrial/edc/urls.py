"""URL configuration of the eCRF (core pages; the eCRF pages are added by their app)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from saatrial.edc.accounts.forms import LoginForm
from saatrial.edc.views import HomeView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # the eCRF apps
    path("", include("saatrial.edc.crf.urls")),
    path("", include("saatrial.edc.queries.urls")),
    path("", include("saatrial.edc.signatures.urls")),
    path("", include("saatrial.edc.sdv.urls")),
    path("", include("saatrial.edc.exports.urls")),
]
