"""``carprivacy serve``: plain HTTP only on loopback; anything else needs TLS.

The notice promises that collected data is only transmitted encrypted.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import typer


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on."),
        port: int = typer.Option(8000, help="Port to listen on."),
        tls_cert: Path | None = typer.Option(None, "--tls-cert", help="PEM certificate."),
        tls_key: Path | None = typer.Option(None, "--tls-key", help="PEM private key."),
        workers: int = typer.Option(
            1,
            "--workers",
            min=1,
            max=64,
            help="Server processes sharing the port, each with its own listening socket "
            "(SO_REUSEPORT); all state they share is in the database (docs/scaling.md). More "
            "than 1 needs a database every process reaches (PostgreSQL, or the SQLite file on "
            "local disk).",
        ),
    ) -> None:
        """Start the HTTP API (and the web pages)."""
        import uvicorn

        from carprivacy.entrypoints.api import heap
        from carprivacy.entrypoints.api.app import create_app
        from carprivacy.entrypoints.api.retention_schedule import schedule_for

        if (tls_cert is None) != (tls_key is None):
            raise typer.BadParameter("--tls-cert and --tls-key go together", param_hint="--tls-key")
        if tls_cert is None and not is_loopback(host):
            typer.echo(
                f"error: --host {host} is not a loopback address; plain HTTP is only allowed on "
                "loopback. Give --tls-cert and --tls-key "
                "(the notice promises encrypted transmission).",
                err=True,
            )
            raise typer.Exit(2)
        from carprivacy.bootstrap import bootstrap, with_admin_token
        from carprivacy.config import load_settings
        from carprivacy.domain.errors import PolicyError

        settings, token_file, created = with_admin_token(load_settings())
        if token_file is not None:
            note = "created" if created else "kept"
            typer.echo(f"administrator bearer token {note} in {token_file} (mode 0600)")
        scheme = "https" if tls_cert else "http"
        shown = "localhost" if host in ("127.0.0.1", "::1") else host
        typer.echo(
            f"carprivacy is running: the customer portal at {scheme}://{shown}:{port}/portal/ "
            f"and the API at {scheme}://{shown}:{port}/docs"
        )
        typer.echo(f"the privacy officer's console at {scheme}://{shown}:{port}/console/")
        try:
            services = bootstrap(settings)
        except PolicyError as exc:
            typer.echo(f"error: the policy {settings.policy_path} is not valid:", err=True)
            for problem in exc.problems:
                typer.echo(f"  {problem}", err=True)
            raise typer.Exit(1) from None
        certfile = str(tls_cert) if tls_cert else None
        keyfile = str(tls_key) if tls_key else None
        if workers == 1:
            app = create_app(services)
            heap.settle()
            schedule = schedule_for(settings.retention_interval_seconds, services.retention.run)
            try:
                uvicorn.run(
                    app,
                    host=host,
                    port=port,
                    ssl_certfile=certfile,
                    ssl_keyfile=keyfile,
                    log_level="warning",
                )
            finally:
                if schedule is not None:
                    schedule.stop()
            return
        # the checks above ran here once (policy, key files created); each worker builds its
        # own services; this parent keeps its own for the one retention schedule
        if settings.retention_interval_seconds == 0:
            services.close()
        schedule = schedule_for(settings.retention_interval_seconds, services.retention.run)
        from carprivacy.entrypoints.api.processes import reuse_port_supported, serve_processes

        try:
            if reuse_port_supported():  # a listening socket per process: spread evenly
                options = {"ssl_certfile": certfile, "ssl_keyfile": keyfile}
                status = serve_processes(workers, host, port, options)
                if status:
                    raise typer.Exit(status)
                return
            uvicorn.run(
                "carprivacy.entrypoints.api.app:create_served_app",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                ssl_certfile=certfile,
                ssl_keyfile=keyfile,
                log_level="warning",
            )
        finally:
            if schedule is not None:
                schedule.stop()
                services.close()
