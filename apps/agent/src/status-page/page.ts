// The status page itself: one HTML document, its script and its styles, all served by the agent (Alpine.js from
// the package, no CDN, no web fonts). The script polls /api/status every second while the page is visible.

export const pageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>e3 backup agent</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/page.css">
<script defer src="/app.js"></script>
<script defer src="/alpine.js"></script>
</head>
<body>
<main x-data="statusPage" x-init="start()">
  <header>
    <h1>e3 backup agent</h1>
    <span class="muted" x-text="status ? status.hostname + ' · version ' + status.version : ''"></span>
  </header>

  <p class="error" role="alert" x-show="error" x-text="error"></p>

  <section aria-labelledby="connection-title">
    <h2 id="connection-title">Connection</h2>
    <template x-if="status && status.identity">
      <dl>
        <dt>Portal</dt><dd x-text="status.identity.server"></dd>
        <dt>Agent id</dt><dd><code x-text="status.identity.agentId"></code></dd>
        <dt>State</dt>
        <dd><span class="badge" :class="badgeClass(status.connection.state)" x-text="status.connection.state"></span>
          <span class="muted" x-show="status.connection.message" x-text="status.connection.message"></span></dd>
        <dt>Last contact</dt><dd x-text="when(status.connection.lastContactAt)"></dd>
      </dl>
    </template>
    <template x-if="status && !status.identity">
      <form @submit.prevent="enroll()" class="enroll">
        <p>This machine is not enrolled yet. Create an enrollment token in the portal (Agents → Enroll), then:</p>
        <label>Portal address <input name="server" type="url" required placeholder="https://backup.example.com" x-model="form.server"></label>
        <label>Enrollment token <input name="token" required autocomplete="off" x-model="form.token"></label>
        <label>Name (optional) <input name="name" x-model="form.name"></label>
        <button type="submit" :disabled="busy">Enroll</button>
      </form>
    </template>
  </section>

  <section aria-labelledby="current-title" x-show="status && status.identity">
    <h2 id="current-title">Current run</h2>
    <template x-if="status && status.currentRun">
      <div class="run" data-testid="current-run">
        <p><strong x-text="status.currentRun.jobName"></strong> · <span x-text="status.currentRun.runType"></span>
          · started <span x-text="when(status.currentRun.startedAt)"></span></p>
        <template x-if="status.currentRun.progress">
          <div>
            <div class="bar" role="progressbar" aria-label="Run progress" aria-valuemin="0" aria-valuemax="100"
              :aria-valuenow="percent(status.currentRun.progress)">
              <div :style="{ width: percent(status.currentRun.progress) + '%' }"></div>
            </div>
            <p data-testid="progress">
              <span x-text="status.currentRun.progress.phase"></span>:
              <span x-text="percent(status.currentRun.progress) + ' %'"></span> ·
              <span x-text="bytes(status.currentRun.progress.bytesDone)"></span> of
              <span x-text="bytes(status.currentRun.progress.bytesTotal)"></span> ·
              <span x-text="status.currentRun.progress.filesDone"></span> files ·
              <span x-text="bytes(status.currentRun.progress.bytesPerSecond) + '/s'"></span>
            </p>
          </div>
        </template>
        <p class="muted" x-show="!status.currentRun.progress">Starting…</p>
      </div>
    </template>
    <p class="muted" x-show="status && !status.currentRun">Idle: waiting for the next scheduled run.</p>
  </section>

  <section aria-labelledby="jobs-title" x-show="status && status.identity">
    <h2 id="jobs-title">Jobs</h2>
    <p class="muted" x-show="jobs.length === 0">No jobs for this machine yet; create one in the portal.</p>
    <ul class="jobs">
      <template x-for="job in jobs" :key="job.jobId">
        <li>
          <span x-text="job.name"></span> <span class="muted" x-text="job.engine"></span>
          <button type="button" @click="runNow(job)" :disabled="busy || !job.enabled" x-text="job.enabled ? 'Run now' : 'Disabled'"></button>
        </li>
      </template>
    </ul>
    <p class="notice" role="status" x-show="notice" x-text="notice"></p>
  </section>

  <section aria-labelledby="runs-title" x-show="status && status.identity">
    <h2 id="runs-title">Last runs</h2>
    <table>
      <thead><tr><th>Job</th><th>Type</th><th>Status</th><th>Finished</th></tr></thead>
      <tbody>
        <template x-for="run in runs" :key="run.runId">
          <tr>
            <td x-text="run.jobName"></td><td x-text="run.runType"></td>
            <td><span class="badge" :class="badgeClass(run.status)" x-text="run.status"></span>
              <span class="muted" x-show="run.errorMessage" x-text="run.errorMessage"></span></td>
            <td x-text="when(run.finishedAt)"></td>
          </tr>
        </template>
      </tbody>
    </table>
  </section>
</main>
</body>
</html>
`;

export const pageScript = `document.addEventListener("alpine:init", () => {
  Alpine.data("statusPage", () => ({
    status: null, jobs: [], runs: [], error: "", notice: "", busy: false,
    form: { server: "", token: "", name: "" },
    start() {
      this.refresh();
      setInterval(() => { if (!document.hidden) this.refresh(); }, 1000);
    },
    async call(path, body) {
      const response = await fetch(path, body === undefined ? {} : {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
      });
      const json = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error((json.error && json.error.message) || response.statusText);
      return json;
    },
    async refresh() {
      try {
        const answer = await this.call("/api/status");
        this.status = answer.agent;
        this.jobs = answer.jobs;
        // The portal's record of the agent's runs when it has answered, else what this process ran.
        this.runs = answer.recentRuns.length > 0 ? answer.recentRuns : answer.agent.endedRuns.map((run) => ({
          runId: run.runId, jobName: run.jobName, runType: run.runType, status: run.status,
          finishedAt: run.finishedAt, errorMessage: run.error || null,
        }));
        this.error = answer.jobsError || "";
      } catch (error) {
        this.error = "The agent does not answer: " + error.message;
      }
    },
    async runNow(job) {
      this.busy = true;
      try {
        const result = await this.call("/api/run-now", { jobId: job.jobId });
        this.notice = result.alreadyQueued ? job.name + " already has a run waiting." : job.name + " will run now.";
        await this.refresh();
      } catch (error) { this.notice = "Could not start " + job.name + ": " + error.message; }
      finally { this.busy = false; }
    },
    async enroll() {
      this.busy = true;
      try {
        await this.call("/api/enroll", this.form);
        this.form.token = "";
        await this.refresh();
      } catch (error) { this.error = "Enrollment failed: " + error.message; }
      finally { this.busy = false; }
    },
    percent(progress) {
      if (!progress || !progress.bytesTotal) return 0;
      return Math.min(100, Math.floor((progress.bytesDone / progress.bytesTotal) * 100));
    },
    bytes(value) {
      if (value === undefined || value === null) return "–";
      const units = ["B", "KiB", "MiB", "GiB", "TiB"];
      let n = value, unit = 0;
      while (n >= 1024 && unit < units.length - 1) { n /= 1024; unit += 1; }
      return (unit === 0 ? n : n.toFixed(1)) + " " + units[unit];
    },
    when(iso) { return iso ? new Date(iso).toLocaleString() : "–"; },
    badgeClass(state) {
      if (["connected", "success"].includes(state)) return "ok";
      if (["warning", "connecting", "queued", "starting", "running"].includes(state)) return "busy";
      return "bad";
    },
  }));
});
`;

export const pageCss = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; background: Canvas; color: CanvasText; }
main { max-width: 56rem; margin: 0 auto; padding: 1.5rem; }
header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 0.5rem; }
section { border: 1px solid #8884; border-radius: 0.5rem; padding: 0 1rem 1rem; margin-bottom: 1rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
.muted { color: #777; }
.error { color: #fff; background: #b42318; padding: 0.5rem 1rem; border-radius: 0.5rem; }
.notice { margin: 0.5rem 0 0; }
.badge { display: inline-block; padding: 0 0.5rem; border-radius: 1rem; font-size: 0.85rem; color: #fff; background: #b42318; }
.badge.ok { background: #067647; }
.badge.busy { background: #b54708; }
.bar { height: 0.75rem; background: #8883; border-radius: 0.5rem; overflow: hidden; }
.bar > div { height: 100%; background: #1570ef; transition: width 0.5s; }
.jobs { list-style: none; padding: 0; margin: 0; }
.jobs li { display: flex; align-items: center; gap: 0.75rem; padding: 0.35rem 0; border-bottom: 1px solid #8882; }
.jobs li button { margin-left: auto; }
button { font: inherit; padding: 0.3rem 0.9rem; border-radius: 0.4rem; border: 1px solid #1570ef; background: #1570ef; color: #fff; cursor: pointer; }
button:disabled { opacity: 0.5; cursor: default; }
button:focus-visible, input:focus-visible { outline: 3px solid #84caff; outline-offset: 2px; }
.enroll label { display: block; margin: 0.5rem 0; }
.enroll input { display: block; width: 100%; max-width: 30rem; font: inherit; padding: 0.3rem; margin-top: 0.2rem; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 0.3rem 0.5rem 0.3rem 0; border-bottom: 1px solid #8882; vertical-align: top; }
`;

export const faviconSvg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1570ef"/><text x="8" y="12" font-size="10" text-anchor="middle" fill="#fff" font-family="sans-serif">e3</text></svg>`;
