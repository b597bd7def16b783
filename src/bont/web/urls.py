from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from bont.web.api import api
from bont.web.converters import ChartKeyConverter, RecordIdConverter
from bont.web.views import (
    accounts,
    audit,
    billing,
    documents,
    events,
    evidence,
    inventory,
    outcomes,
    patients,
    planning,
    research,
    sessions,
    style,
)

register_converter(RecordIdConverter, "id")  # before the routes below, the API's included, use it
register_converter(ChartKeyConverter, "chart")

handler404 = "bont.web.views.errors.not_found"
handler500 = "bont.web.views.errors.server_error"

urlpatterns = [
    path("api/", api.urls),  # first: an API client's every request is resolved without trying the pages' routes
    path("fhir/", include("bont.web.fhir.urls")),  # the read-only FHIR R4 API
    path("", patients.home, name="home"),
    path("login/", accounts.SignInView.as_view(), name="login"),
    path("login/code/", accounts.sign_in_code, name="sign_in_code"),
    path("two-factor/", accounts.two_factor, name="two_factor"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", accounts.password_change, name="password_change"),
    path("password/done/", accounts.password_change_done, name="password_change_done"),
    path("users/", accounts.users, name="users"),
    path("users/<str:username>/", accounts.user, name="user"),
    path("audit/", audit.audit_search, name="audit_search"),
    path("audit/export.csv", audit.audit_export_csv, name="audit_export"),
    path("patients/", patients.patients, name="patients"),
    path("new-patient/", patients.patient_new, name="patient_new"),  # not under patients/, where chart keys go
    path("conditions/search/", patients.condition_search, name="condition_search"),
    path("patients/<chart:mrn>/", patients.chart, name="chart"),
    path("patients/<chart:mrn>/edit/", patients.patient_edit, name="patient_edit"),
    path("patients/<chart:mrn>/audit/", patients.audit, name="audit"),
    path("patients/<chart:mrn>/plan/", planning.plan_builder, name="patient_plan"),
    path("patients/<chart:mrn>/record/", sessions.record, name="record"),
    path("patients/<chart:mrn>/adverse-events/new/", events.event_new, name="event_new"),
    path("patients/<chart:mrn>/outcomes/new/", outcomes.outcome_new, name="outcome_new"),
    path("patients/<chart:mrn>/continuation/<str:indication>/", documents.continuation, name="continuation_report"),
    path("patients/<chart:mrn>/diary-links/", outcomes.diary_link_new, name="diary_link_new"),
    path("follow-up/", outcomes.follow_up, name="follow_up"),
    path("diary/<str:token>/", outcomes.diary, name="diary"),
    path("sessions/<id:session_id>/", sessions.session, name="session"),
    path("sessions/<id:session_id>/withdraw/", sessions.session_withdraw, name="session_withdraw"),
    path("sessions/<id:session_id>/correct/", sessions.session_correct, name="session_correct"),
    path("outcomes/<id:outcome_id>/correct/", outcomes.outcome_correct, name="outcome_correct"),
    path("outcomes/<id:outcome_id>/withdraw/", outcomes.outcome_withdraw, name="outcome_withdraw"),
    path("plan/", planning.plan_builder, name="plan"),
    path("plan/sheet/", documents.procedure_sheet, name="plan_sheet"),
    path("inventory/", inventory.inventory, name="inventory"),
    path("billing/", billing.billing, name="billing"),
    path("billing/export.csv", billing.billing_export, name="billing_export"),
    path("adverse-events/", events.events, name="events"),
    path("adverse-events/<id:event_id>/", events.event_edit, name="event_edit"),
    path("adverse-events/<id:event_id>/withdraw/", events.event_withdraw, name="event_withdraw"),
    path("research/", research.research, name="research"),
    path("research/size/", research.cohort_size, name="research_cohort_size"),
    path("research/analyses/", research.analyses, name="research_analyses"),
    path("research/analyses.zip", research.analyses_download, name="research_analyses_download"),
    path("research/cohorts/", research.cohort_save, name="research_cohort_save"),
    path("research/export.zip", research.export, name="research_export"),
    path("evidence/", evidence.studies, name="evidence"),
    path("evidence/export", evidence.studies_export, name="evidence_export"),
    path("evidence/studies/<path:key>/", evidence.study, name="evidence_study"),
    path("evidence/trials/", evidence.trials, name="evidence_trials"),
    path("evidence/trials/export", evidence.trials_export, name="evidence_trials_export"),
    path("evidence/map/", evidence.evidence_map, name="evidence_map"),
    path("evidence/indications/<str:indication_id>/", evidence.indication_summary, name="evidence_indication"),
    path("evidence/indications/<str:indication_id>.pdf", evidence.indication_summary_pdf, name="evidence_pdf"),
    path("style/", style.style_guide, name="style"),
]
