"""A FHIR R4 REST API under /fhir/ (JSON only), with the JSON API's bearer tokens (or a signed-in session) and
roles; read-only but for importing outside history.

- ``GET metadata``: the CapabilityStatement (public: it names no patient).
- ``GET Patient/{id}``, ``GET Patient?_id=``, ``POST Patient/_search`` (a form; the only search by ``identifier``,
  the MRN, which no address may carry: addresses end up in proxy logs and browser history).
- ``GET MedicationAdministration`` by ``patient`` (required) and ``effective-time`` (R4's name; ``date`` is taken
  too), ``GET Observation`` by ``patient`` and ``date`` (day precision, prefixes eq, ge, gt, le, lt; repeated for a
  range; a measurement of a period matches when the period overlaps the days); ``GET
  MedicationAdministration/{id}``, ``Observation/{id}``.
- ``GET Patient/{id}/$everything``: the whole record as a searchset Bundle (logged as an export).
- ``POST`` (the base) or ``POST Bundle``: a Bundle of outside history imported (not a FHIR batch or transaction;
  the CapabilityStatement's ``rest.documentation`` says so); the answer is an OperationOutcome with an issue for
  the patient and one per entry (added, matched, or refused with its reason and path).

The resources are those of the FHIR export (``bont.services.fhir_exchange``, mapped by ``bont.interop.fhir``): a
Patient's id is its chart's random key (its ``_`` written ``.``), never the MRN. Who may do what is the web app's
rule: clinicians, nurses and administrators read identified records, clinicians and nurses import; researchers
and billing staff are refused (403). Every read of a patient's data is in the access log (channel api).
Refusals are OperationOutcomes: 400 naming the parameter or the bad element, 401 without a token (with
``WWW-Authenticate: Bearer``), 403, 404 for an unknown id or resource type, 405, 406 for XML, 413 for a Bundle
larger than Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``bont fhir import`` takes larger files), 415 for a body
that is not FHIR JSON (or, for ``_search``, a form), 422 for a bundle whose patient cannot be matched or
registered."""
