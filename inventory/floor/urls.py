from django.urls import path

from inventory.floor import views

app_name = "floor"

urlpatterns = [
    path("count/", views.start, name="start"),
    path("count/<int:location_id>/", views.sheet_page, name="sheet"),
    path("count/<int:location_id>/scan", views.scan, name="scan"),
    path("count/<int:location_id>/edit", views.edit, name="edit"),
    path("count/<int:location_id>/review/", views.review, name="review"),
    path("count/<int:location_id>/post", views.post_count, name="post"),
]
