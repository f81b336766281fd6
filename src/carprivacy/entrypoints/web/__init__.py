"""The customer's web portal: server-rendered pages served by ``carprivacy serve`` under
``/portal`` (SPEC C1, C2, C4, R1). Pages only turn a request into a service call and the answer
into HTML; every read and write goes through the services and the gate the API uses."""
