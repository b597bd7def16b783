from django.contrib.auth import views as auth_views
from django.urls import path

from bont.web import views
from bont.web.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("patients/", views.patients, name="patients"),
    path("patients/<str:mrn>/", views.chart, name="chart"),
    path("research/", views.research, name="research"),
    path("plan/", views.plan_builder, name="plan"),
    path("inventory/", views.inventory, name="inventory"),
    path("patients/<str:mrn>/audit/", views.audit, name="audit"),
    path("api/", api.urls),
]
