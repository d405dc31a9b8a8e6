from django.urls import path

from inventory.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard_page, name="index"),
    path("data.json", views.dashboard_data, name="data"),
]
