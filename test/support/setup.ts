// Runs before every test file (vitest.config.ts setupFiles).
// A daemon started without `env` reads process.env: if the suite runs inside a Kubernetes pod (a CI
// runner), it must not pick up that cluster (tests only talk to loopback). Kubernetes tests configure it.
delete process.env['KUBERNETES_SERVICE_HOST'];
delete process.env['KUBERNETES_SERVICE_PORT'];
