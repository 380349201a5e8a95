"""The library every gjeld service uses: settings, server bootstrap, callers,
identity numbers, telemetry, database and errors."""
