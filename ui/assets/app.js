"use strict";
// Skiff's dashboard. Every value from the cluster reaches the page through
// textContent or an attribute set by the DOM API, never as HTML, so an
// object whose fields hold markup shows it as text. Lists stay current
// through the API's watches: one list and one watch per collection shown,
// not a poll per object.
(function () {
  const state = { user: "", role: "", csrf: "", ns: "", sel: "" };
  let viewAbort = new AbortController();

  // ---- DOM helpers --------------------------------------------------------
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === undefined || kid === null || kid === false) continue;
      e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return e;
  }
  const canWrite = () => state.role === "admin";
  function table(headers, rows, empty) {
    if (!rows.length) return el("p", { class: "empty" }, empty || "None.");
    return el("div", { class: "scroll" },
      el("table", {},
        el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c)))))));
  }
  // keyedTable shows a live list in target. Each update rebuilds only the
  // rows whose object changed (by resourceVersion, or by sig(o) when the
  // row shows more than the object) and moves the rest into order, so the
  // rows left alone keep what the user typed, focused or armed in them.
  // Rebuilding all 1,000 rows of the pods list for one pod's change cost
  // about 60 ms of script and a layout of the whole table
  // (ui/bench_test.go).
  //
  // opts: empty (the text for no rows), sig, and grid: a class naming the
  // list's column layout in app.css. A grid list is a CSS grid with ARIA
  // table roles instead of a <table>, so that its rows can skip layout and
  // paint while off screen (content-visibility, which table rows do not
  // take): laying out a 1,000-row table took 150-250 ms here, the visible
  // rows of a grid list about 35 ms.
  function keyedTable(target, headers, rowOf, opts) {
    opts = opts || {};
    const sig = opts.sig || ((o) => o.metadata.resourceVersion);
    const rows = new Map();
    let tbody, box, rowEl;
    if (opts.grid) {
      tbody = el("div", { role: "rowgroup", class: "rows" });
      box = el("div", { class: "scroll" }, el("div", { role: "table", class: "grid " + opts.grid, "aria-label": opts.label },
        el("div", { role: "rowgroup" }, el("div", { role: "row", class: "head" }, headers.map((h) => el("div", { role: "columnheader" }, h)))), tbody));
      rowEl = (cells) => el("div", { role: "row" }, cells.map((c) => el("div", { role: "cell" }, c)));
    } else {
      tbody = el("tbody");
      box = el("div", { class: "scroll" }, el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))), tbody));
      rowEl = (cells) => el("tr", {}, cells.map((c) => el("td", {}, c)));
    }
    const none = el("p", { class: "empty" }, opts.empty || "None.");
    return (items) => {
      const seen = new Set();
      let cur = tbody.firstChild;
      for (const o of sorted(items)) {
        const k = keyOf(o), sg = sig(o);
        seen.add(k);
        let r = rows.get(k);
        if (!r || r.sig !== sg) {
          const tr = rowEl(rowOf(o));
          if (r) { if (cur === r.tr) cur = tr; r.tr.replaceWith(tr); }
          r = { tr, sig: sg };
          rows.set(k, r);
        }
        if (r.tr === cur) cur = cur.nextSibling; else tbody.insertBefore(r.tr, cur);
      }
      for (const [k, r] of rows) if (!seen.has(k)) { r.tr.remove(); rows.delete(k); }
      const want = rows.size ? box : none;
      if (target.firstChild !== want || target.childNodes.length !== 1) target.replaceChildren(want);
    };
  }
  function section(title, ...kids) {
    return el("section", {}, el("h2", {}, title), ...kids);
  }
  function age(ts) {
    if (!ts) return "";
    const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
    if (s < 120) return s + "s";
    if (s < 7200) return Math.floor(s / 60) + "m";
    if (s < 172800) return Math.floor(s / 3600) + "h";
    return Math.floor(s / 86400) + "d";
  }
  function banner(msg, kind) {
    const b = document.getElementById("banner");
    b.textContent = msg || "";
    b.className = kind || "";
    b.hidden = !msg;
  }
  function flash(msg, kind) {
    banner(msg, kind || "info");
    if (kind !== "error") setTimeout(() => { if (document.getElementById("banner").textContent === msg) banner(""); }, 4000);
  }

  // ---- API ------------------------------------------------------------------
  async function api(method, path, body, contentType, accept) {
    const headers = { Accept: accept || "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = state.csrf;
    if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
    const resp = await fetch("/ui/api" + path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    if (resp.status === 401) { location.href = "/ui/login"; throw new Error("signed out"); }
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!resp.ok) {
      const err = new Error((data && data.message) || text || resp.statusText);
      err.status = resp.status;
      err.causes = (data && data.details && data.details.causes) || [];
      throw err;
    }
    return data;
  }
  function q(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v) u.set(k, v);
    const s = u.toString();
    return s ? "?" + s : "";
  }
  function collection(group, version, resource, ns) {
    const base = group ? "/apis/" + group + "/" + version : "/api/" + version;
    return base + (ns ? "/namespaces/" + encodeURIComponent(ns) : "") + "/" + resource;
  }
  const keyOf = (o) => (o.metadata.namespace || "") + "/" + o.metadata.name;

  // Watch keeps a map of a collection's objects current: a list, then a
  // watch from its resourceVersion; on a broken or expired watch it lists
  // again. onChange runs at most once per animation frame. With
  // metadataOnly the objects carry their metadata alone (the API's
  // PartialObjectMetadata): enough to count them, at a fraction of the
  // bytes (a pod's metadata is a fifth of the pod).
  const metaList = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
  const metaObject = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";
  function watch(path, params, onChange, signal, metadataOnly) {
    const items = new Map();
    let queued = false;
    // listed is set when a list arrives and cleared by the render that
    // shows it, which alone gets a performance mark: marks stay in the
    // page's timeline, so one per watch event would grow without bound.
    let listed = false;
    const changed = () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        if (signal.aborted) return;
        onChange(items);
        if (listed) { listed = false; performance.mark("render-end " + path); }
      });
    };
    (async () => {
      while (!signal.aborted) {
        let rv = "";
        try {
          const list = await api("GET", path + q(params), undefined, undefined, metadataOnly ? metaList : undefined);
          performance.mark("list-parsed " + path); // for profiling and ui/bench_test.go
          listed = true;
          items.clear();
          for (const o of list.items || []) items.set(keyOf(o), o);
          rv = list.metadata.resourceVersion;
          changed();
          const resp = await fetch("/ui/api" + path + q(Object.assign({}, params, { watch: "1", resourceVersion: rv, allowWatchBookmarks: "true" })),
            { credentials: "same-origin", signal, headers: metadataOnly ? { Accept: metaObject } : {} });
          if (!resp.ok) throw new Error("watch " + resp.status);
          const reader = resp.body.getReader();
          const dec = new TextDecoder();
          let buf = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += dec.decode(value, { stream: true });
            let nl;
            while ((nl = buf.indexOf("\n")) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              if (!line.trim()) continue;
              const ev = JSON.parse(line);
              if (ev.type === "ERROR") throw new Error("watch expired");
              if (ev.type === "BOOKMARK") continue;
              if (ev.type === "DELETED") items.delete(keyOf(ev.object));
              else items.set(keyOf(ev.object), ev.object);
              changed();
            }
          }
        } catch (e) {
          if (signal.aborted) return;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
  }
  // sorted orders objects by namespace and name, in code point order:
  // names are ASCII, and a plain comparison of precomputed keys is several
  // times cheaper than localeCompare at 1,000 objects.
  const sorted = (items) => [...items.values()].map((o) => [keyOf(o), o]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((x) => x[1]);

  // ---- actions ----------------------------------------------------------------
  // A two-step button: the first press arms it, the second acts.
  function confirmButton(label, action) {
    if (!canWrite()) return null;
    const b = el("button", { type: "button", class: "danger" }, label);
    let armed = false;
    b.addEventListener("click", async () => {
      if (!armed) {
        armed = true;
        b.textContent = "Confirm " + label.toLowerCase();
        setTimeout(() => { armed = false; b.textContent = label; }, 5000);
        return;
      }
      b.disabled = true;
      try { await action(); flash(label + ": done"); } catch (e) { flash(label + ": " + e.message, "error"); }
      b.disabled = false;
    });
    return b;
  }
  function actionButton(label, action) {
    if (!canWrite()) return null;
    return el("button", { type: "button", onclick: async (ev) => {
      ev.target.disabled = true;
      try { await action(); } catch (e) { flash(label + ": " + e.message, "error"); }
      ev.target.disabled = false;
    } }, label);
  }
  const mergePatch = (path, patch) => api("PATCH", path, patch, "application/merge-patch+json");
  function scaleForm(path, current) {
    if (!canWrite()) return null;
    const id = "scale-" + Math.random().toString(36).slice(2);
    const input = el("input", { id, type: "number", min: "0", value: current, class: "narrow", "aria-label": "replicas" });
    return el("span", { class: "inline" }, input,
      actionButton("Scale", async () => {
        await mergePatch(path, { spec: { replicas: Number(input.value) } });
        flash("Scaled to " + input.value);
      }));
  }
  function revisionOf(o) { return Number((o.metadata.annotations || {})["deployment.kubernetes.io/revision"] || 0); }
  async function rollBack(d, rs) {
    const tmpl = JSON.parse(JSON.stringify(rs.spec.template));
    if (tmpl.metadata && tmpl.metadata.labels) delete tmpl.metadata.labels["pod-template-hash"];
    await api("PATCH", collection("apps", "v1", "deployments", d.metadata.namespace) + "/" + encodeURIComponent(d.metadata.name),
      [{ op: "replace", path: "/spec/template", value: tmpl }], "application/json-patch+json");
    flash("Rolled " + d.metadata.name + " back to revision " + revisionOf(rs));
  }
  async function undo(d) {
    const list = await api("GET", collection("apps", "v1", "replicasets", d.metadata.namespace));
    const mine = (list.items || []).filter((rs) => (rs.metadata.ownerReferences || []).some((r) => r.uid === d.metadata.uid))
      .sort((a, b) => revisionOf(b) - revisionOf(a));
    if (mine.length < 2) throw new Error("no earlier revision");
    await rollBack(d, mine[1]);
  }
  const restart = (d) => mergePatch(collection("apps", "v1", "deployments", d.metadata.namespace) + "/" + encodeURIComponent(d.metadata.name),
    { spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": new Date().toISOString() } } } } });
  const del = (group, version, resource, o) => api("DELETE", collection(group, version, resource, o.metadata.namespace) + "/" + encodeURIComponent(o.metadata.name));

  // ---- views ------------------------------------------------------------------
  const view = () => document.getElementById("view");
  function mount(...kids) { view().replaceChildren(...kids); }
  function slot(id) { return el("div", { class: "slot", id }, el("p", { class: "empty" }, "Loading…")); }
  const listParams = () => ({ labelSelector: state.sel });

  function podStatus(p) {
    if (p.metadata.deletionTimestamp) return "Terminating";
    for (const c of (p.status && p.status.containerStatuses) || []) {
      if (c.state && c.state.waiting && c.state.waiting.reason) return c.state.waiting.reason;
      if (c.state && c.state.terminated && c.state.terminated.reason && p.status.phase !== "Succeeded") return c.state.terminated.reason;
    }
    const sched = ((p.status && p.status.conditions) || []).find((c) => c.type === "PodScheduled");
    if (sched && sched.status === "False") return "Pending (" + (sched.reason || "unscheduled") + ")";
    return (p.status && p.status.phase) || "Pending";
  }
  const restarts = (p) => ((p.status && p.status.containerStatuses) || []).reduce((n, c) => n + (c.restartCount || 0), 0);
  const readyCount = (p) => { const cs = (p.status && p.status.containerStatuses) || []; return cs.filter((c) => c.ready).length + "/" + ((p.spec.containers || []).length); };
  function nodeReady(n) {
    const c = ((n.status && n.status.conditions) || []).find((c) => c.type === "Ready");
    let s = !c ? "Unknown" : c.status === "True" ? "Ready" : c.status === "False" ? "NotReady" : "Unknown";
    if (n.spec && n.spec.unschedulable) s += ",SchedulingDisabled";
    return s;
  }
  const nodeIP = (n) => (((n.status && n.status.addresses) || []).find((a) => a.type === "InternalIP") || {}).address || "";

  function clusterView(signal) {
    const servers = slot("servers"), nodes = slot("workers"), counts = slot("counts"), history = el("ol", { class: "history" });
    mount(el("h1", {}, "Cluster"), section("Servers", servers), section("Leadership changes", history),
      section("Workers", nodes), section("Objects", counts));
    let leader = null;
    let members = {};
    (async () => {
      while (!signal.aborted) {
        try {
          const st = await api("GET", "/skiff/v1/operator/raft");
          try { const m = await api("GET", "/skiff/v1/operator/members"); members = {}; for (const x of m.members || []) members[x.name] = x; } catch (e) { members = {}; }
          const list = st.servers || [];
          const reachable = list.filter((s) => s.reachable).length;
          const cur = (list.find((s) => s.leader) || {}).id || null;
          if (cur !== leader) {
            history.prepend(el("li", {}, new Date().toLocaleTimeString() + ": " + (cur ? cur + " leads" : "no leader")));
            leader = cur;
          }
          servers.replaceChildren(table(["Name", "Address", "Role", "Term", "Last index", "Reachable"],
            list.map((s) => [s.id, s.address, s.leader ? "leader" : s.voter ? "follower" : "non-voter", st.term || "", s.last_index, s.reachable ? "yes" : "NO"])));
          if (reachable < list.length) {
            const quorum = Math.floor(list.length / 2) + 1;
            banner(reachable < quorum ? "Quorum lost: " + reachable + " of " + list.length + " servers reachable." : "Quorum at risk: " + reachable + " of " + list.length + " servers reachable; losing one more stops writes.", "warn");
          } else if (document.getElementById("banner").className === "warn") banner("");
        } catch (e) {
          servers.replaceChildren(el("p", { class: "error" }, "Servers: " + e.message));
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    const gossip = (n) => members[n.metadata.name] ? members[n.metadata.name].state : "not in gossip";
    watch("/api/v1/nodes", listParams(), keyedTable(nodes, ["Name", "Status", "Gossip", "Address", "Pod CIDR", "Version", "Age"],
      (n) => [el("a", { href: "#/node/" + encodeURIComponent(n.metadata.name) }, n.metadata.name), nodeReady(n),
        gossip(n), nodeIP(n), n.spec.podCIDR || "", (n.status.nodeInfo || {}).kubeletVersion || "", age(n.metadata.creationTimestamp)],
      { empty: "No workers have joined yet.", sig: (n) => n.metadata.resourceVersion + "/" + gossip(n) }), signal);
    const tally = {};
    const showCounts = () => counts.replaceChildren(table(["Kind", "Count"], Object.entries(tally).map(([k, v]) => [k, v])));
    for (const [label, g, v, r] of [["Namespaces", "", "v1", "namespaces"], ["Pods", "", "v1", "pods"], ["Deployments", "apps", "v1", "deployments"], ["Services", "", "v1", "services"]]) {
      tally[label] = "…";
      watch(collection(g, v, r, ""), {}, (items) => { tally[label] = items.size; showCounts(); }, signal, true);
    }
  }

  function workloadsView(signal) {
    const ns = state.ns;
    const deps = slot("deployments"), rss = slot("replicasets"), pods = slot("pods"), svcs = slot("services"), cms = slot("configmaps"), secs = slot("secrets");
    mount(el("h1", {}, "Workloads" + (ns ? " in " + ns : "")), section("Deployments", deps), section("Pods", pods), section("Services", svcs),
      section("Replica sets", rss), section("Config maps", cms), section("Secrets", secs));
    const slices = new Map();
    let svcItems = new Map();
    const showSvcs = () => svcs.replaceChildren(table(["Name", "Namespace", "Type", "Cluster IP", "Ports", "Endpoints", ""],
      sorted(svcItems).map((s) => {
        let ready = 0;
        for (const sl of slices.values()) {
          if (sl.metadata.namespace === s.metadata.namespace && (sl.metadata.labels || {})["kubernetes.io/service-name"] === s.metadata.name) {
            for (const ep of sl.endpoints || []) if (!ep.conditions || ep.conditions.ready !== false) ready += (ep.addresses || []).length;
          }
        }
        return [s.metadata.name, s.metadata.namespace, s.spec.type, s.spec.clusterIP || "", (s.spec.ports || []).map((p) => p.port + (p.nodePort ? ":" + p.nodePort : "") + "/" + p.protocol).join(", "), String(ready),
          confirmButton("Delete", () => del("", "v1", "services", s))];
      }), "No services."));
    watch(collection("apps", "v1", "deployments", ns), listParams(), keyedTable(deps, ["Name", "Namespace", "Ready", "Up-to-date", "Available", "Images", "Age", ""],
      (d) => {
        const st = d.status || {};
        const want = d.spec.replicas === undefined ? 1 : d.spec.replicas;
        const dpath = collection("apps", "v1", "deployments", d.metadata.namespace) + "/" + encodeURIComponent(d.metadata.name);
        return [el("a", { href: "#/deployment/" + encodeURIComponent(d.metadata.namespace) + "/" + encodeURIComponent(d.metadata.name) }, d.metadata.name), d.metadata.namespace,
          (st.readyReplicas || 0) + "/" + want, String(st.updatedReplicas || 0), String(st.availableReplicas || 0),
          d.spec.template.spec.containers.map((c) => c.image).join(", "), age(d.metadata.creationTimestamp),
          el("span", { class: "actions" }, scaleForm(dpath, want), actionButton("Restart", async () => { await restart(d); flash("Restarting " + d.metadata.name); }),
            actionButton("Undo", () => undo(d)), confirmButton("Delete", () => del("apps", "v1", "deployments", d)))];
      }, { empty: "No deployments. Deploy one from the Deploy page or with skiff apply." }), signal);
    watch(collection("apps", "v1", "replicasets", ns), listParams(), keyedTable(rss, ["Name", "Namespace", "Desired", "Ready", "Revision", "Age"],
      (r) => [r.metadata.name, r.metadata.namespace, String(r.spec.replicas || 0), String((r.status || {}).readyReplicas || 0), String(revisionOf(r) || ""), age(r.metadata.creationTimestamp)], { empty: "No replica sets." }), signal);
    watch(collection("", "v1", "pods", ns), listParams(), keyedTable(pods, ["Name", "Namespace", "Ready", "Status", "Restarts", "Node", "IP", "Age", ""],
      (p) => [el("a", { href: "#/pod/" + encodeURIComponent(p.metadata.namespace) + "/" + encodeURIComponent(p.metadata.name) }, p.metadata.name), p.metadata.namespace,
        readyCount(p), podStatus(p), String(restarts(p)), p.spec.nodeName || "", (p.status || {}).podIP || "", age(p.metadata.creationTimestamp),
        confirmButton("Delete", () => del("", "v1", "pods", p))], { empty: "No pods.", grid: "pods", label: "Pods" }), signal);
    watch(collection("", "v1", "services", ns), listParams(), (items) => { svcItems = items; showSvcs(); }, signal);
    watch(collection("discovery.k8s.io", "v1", "endpointslices", ns), {}, (items) => { slices.clear(); for (const [k, v] of items) slices.set(k, v); showSvcs(); }, signal);
    watch(collection("", "v1", "configmaps", ns), listParams(), keyedTable(cms, ["Name", "Namespace", "Keys", "Age", ""], (c) => [c.metadata.name, c.metadata.namespace,
      Object.keys(c.data || {}).join(", "), age(c.metadata.creationTimestamp), confirmButton("Delete", () => del("", "v1", "configmaps", c))], { empty: "No config maps." }), signal);
    if (state.role === "admin") {
      // Metadata only: the values stay on the server until asked for.
      watchSecrets(ns, secs, signal);
    } else {
      secs.replaceChildren(el("p", { class: "empty" }, "Read-only users cannot read secrets."));
    }
  }

  function watchSecrets(ns, target, signal) {
    const shown = new Map();
    watch(collection("", "v1", "secrets", ns), listParams(), (items) => {
      target.replaceChildren(table(["Name", "Namespace", "Type", "Keys", "Values", ""], sorted(items).map((s) => {
        const key = keyOf(s);
        const values = el("div", { class: "values" });
        if (shown.has(key)) {
          for (const [k, v] of Object.entries(shown.get(key))) values.append(el("div", {}, k + ": " + v));
        }
        const toggle = el("button", { type: "button", onclick: async () => {
          if (shown.has(key)) { shown.delete(key); values.replaceChildren(); toggle.textContent = "Show"; return; }
          const full = await api("GET", collection("", "v1", "secrets", s.metadata.namespace) + "/" + encodeURIComponent(s.metadata.name));
          const dec = {};
          for (const [k, v] of Object.entries(full.data || {})) { try { dec[k] = atob(v); } catch (e) { dec[k] = v; } }
          shown.set(key, dec);
          values.replaceChildren(...Object.entries(dec).map(([k, v]) => el("div", {}, k + ": " + v)));
          toggle.textContent = "Hide";
        } }, shown.has(key) ? "Hide" : "Show");
        return [s.metadata.name, s.metadata.namespace, s.type || "", Object.keys(s.data || {}).join(", "), el("div", {}, toggle, values), confirmButton("Delete", () => del("", "v1", "secrets", s))];
      }), "No secrets."));
    }, signal);
  }

  function podView(signal, ns, name) {
    const info = slot(), conds = slot(), events = slot();
    const logs = el("pre", { class: "logs", "aria-label": "logs", tabindex: "0" });
    const container = el("select", { id: "log-container" });
    const previous = el("input", { type: "checkbox", id: "log-previous" });
    const follow = el("input", { type: "checkbox", id: "log-follow", checked: true });
    const logStatus = el("p", { id: "log-status", class: "empty", role: "status" });
    let logAbort = null;
    // loadLogs shows the container's last 500 lines and, when following,
    // what it prints next. The lines come with their timestamps (shown
    // without them), so a followed stream that breaks (a network change,
    // a restarted worker) resumes from the last line shown, with
    // sinceTime, instead of going silent or repeating lines.
    const loadLogs = async () => {
      if (logAbort) logAbort.abort();
      logAbort = new AbortController();
      const sig = logAbort.signal;
      signal.addEventListener("abort", () => logAbort.abort());
      logs.textContent = "";
      logStatus.textContent = "";
      let last = null, lastTS = "";
      const path = "/ui/api" + collection("", "v1", "pods", ns) + "/" + encodeURIComponent(name) + "/log";
      while (!sig.aborted) {
        const params = { container: container.value, timestamps: "true", follow: follow.checked ? "true" : "", previous: previous.checked ? "true" : "" };
        if (lastTS) params.sinceTime = lastTS; else params.tailLines = "500";
        try {
          const resp = await fetch(path + q(params), { credentials: "same-origin", signal: sig });
          if (!resp.ok) {
            const t = await resp.text();
            let m = t;
            try { m = JSON.parse(t).message; } catch (e) { /* plain text */ }
            // A worker that cannot be reached for a moment (503) does not
            // end a followed log that was already showing.
            if (resp.status !== 503 || !follow.checked || !lastTS) { logStatus.textContent = "Logs unavailable: " + m; return; }
            throw new Error(m);
          }
          logStatus.textContent = follow.checked ? "Following." : "";
          const reader = resp.body.getReader();
          const dec = new TextDecoder();
          let buf = "";
          // show appends the complete lines of buf (all of it at the end of
          // the stream, where a last line may lack its newline).
          const show = (end) => {
            let nl, out = "";
            while ((nl = buf.indexOf("\n")) >= 0 || (end && buf)) {
              const line = nl >= 0 ? buf.slice(0, nl) : buf;
              buf = nl >= 0 ? buf.slice(nl + 1) : "";
              const sp = line.indexOf(" ");
              const key = logTimeKey(line.slice(0, sp));
              if (last !== null && key !== null && key <= last) continue;
              if (key !== null) { last = key; lastTS = line.slice(0, sp); }
              out += (key === null ? line : line.slice(sp + 1)) + (nl >= 0 ? "\n" : "");
            }
            if (out) { logs.append(document.createTextNode(out)); logs.scrollTop = logs.scrollHeight; }
          };
          for (;;) {
            const { value, done } = await reader.read();
            if (done) { show(true); break; }
            buf += dec.decode(value, { stream: true });
            show(false);
          }
          if (!follow.checked) return;
          logStatus.textContent = "The container stopped; its log ended.";
          return;
        } catch (e) {
          if (sig.aborted) return;
          if (!follow.checked) { logStatus.textContent = "Log stream ended: " + e.message; return; }
          logStatus.textContent = "Log stream interrupted (" + e.message + "); reconnecting…";
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
    container.addEventListener("change", loadLogs);
    previous.addEventListener("change", loadLogs);
    follow.addEventListener("change", loadLogs);
    mount(el("h1", {}, "Pod " + ns + "/" + name), section("Containers", info), section("Conditions", conds), section("Events", events),
      section("Logs", el("div", { class: "inline" }, el("label", { for: "log-container" }, "Container"), container,
        el("label", { for: "log-previous" }, "Previous"), previous, el("label", { for: "log-follow" }, "Follow"), follow), logStatus, logs));
    let first = true;
    watch(collection("", "v1", "pods", ns), { fieldSelector: "metadata.name=" + name }, (items) => {
      const p = items.get(ns + "/" + name);
      if (!p) { info.replaceChildren(el("p", { class: "empty" }, "This pod no longer exists.")); return; }
      const byName = {};
      for (const c of (p.status && p.status.containerStatuses) || []) byName[c.name] = c;
      info.replaceChildren(el("p", {}, "Status: " + podStatus(p) + " · Node: " + (p.spec.nodeName || "none") + " · IP: " + ((p.status || {}).podIP || "none")),
        table(["Name", "Image", "State", "Ready", "Restarts"], p.spec.containers.map((c) => {
          const s = byName[c.name] || {};
          const st = s.state ? Object.keys(s.state)[0] + (Object.values(s.state)[0].reason ? " (" + Object.values(s.state)[0].reason + ")" : "") : "";
          return [c.name, c.image, st, s.ready ? "yes" : "no", String(s.restartCount || 0)];
        })));
      conds.replaceChildren(table(["Type", "Status", "Reason", "Message"], ((p.status && p.status.conditions) || []).map((c) => [c.type, c.status, c.reason || "", c.message || ""])));
      if (first) {
        first = false;
        container.replaceChildren(...p.spec.containers.map((c) => el("option", { value: c.name }, c.name)));
        loadLogs();
      }
    }, signal);
    watchEvents(ns, "Pod", name, events, signal);
  }

  function watchEvents(ns, kind, name, target, signal) {
    watch(collection("", "v1", "events", ns), { fieldSelector: "involvedObject.name=" + name + ",involvedObject.kind=" + kind }, (items) => {
      const evs = [...items.values()].sort((a, b) => Date.parse(b.lastTimestamp || b.eventTime || b.metadata.creationTimestamp) - Date.parse(a.lastTimestamp || a.eventTime || a.metadata.creationTimestamp));
      target.replaceChildren(table(["Type", "Reason", "Age", "From", "Message"], evs.map((e) => [e.type || "", e.reason || "", age(e.lastTimestamp || e.eventTime || e.metadata.creationTimestamp),
        (e.source && e.source.component) || e.reportingComponent || "", e.message || ""]), "No events."));
    }, signal);
  }

  // logTimeKey turns a log line's RFC 3339 timestamp (nanoseconds, any
  // offset) into a string that sorts as the instants do, or null.
  function logTimeKey(ts) {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(ts);
    if (!m) return null;
    const sec = Date.parse(m[1] + m[3]);
    if (isNaN(sec)) return null;
    return String(sec / 1000).padStart(12, "0") + (m[2] || "").padEnd(9, "0");
  }

  // Quantities, for a node's requests against its capacity.
  function quantity(s) {
    if (s === undefined || s === null) return 0;
    const m = String(s).match(/^([0-9.]+)([a-zA-Z]*)$/);
    if (!m) return 0;
    const n = parseFloat(m[1]);
    const mult = { "": 1, m: 1e-3, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1048576, Gi: 1073741824, Ti: 1099511627776 }[m[2]];
    return mult === undefined ? 0 : n * mult;
  }
  function nodeView(signal, name) {
    const info = slot(), res = slot(), conds = slot(), taints = slot(), podsSlot = slot(), events = slot();
    const path = "/api/v1/nodes/" + encodeURIComponent(name);
    const controls = el("div", { class: "actions" },
      actionButton("Cordon", async () => { await mergePatch(path, { spec: { unschedulable: true } }); flash("Cordoned " + name); }),
      actionButton("Uncordon", async () => { await mergePatch(path, { spec: { unschedulable: null } }); flash("Uncordoned " + name); }),
      confirmButton("Drain", async () => {
        await mergePatch(path, { spec: { unschedulable: true } });
        const list = await api("GET", "/api/v1/pods" + q({ fieldSelector: "spec.nodeName=" + name }));
        for (const p of list.items || []) await del("", "v1", "pods", p);
      }));
    mount(el("h1", {}, "Node " + name), controls, section("Summary", info), section("Resources", res), section("Conditions", conds), section("Taints", taints), section("Pods", podsSlot), section("Events", events));
    let node = null, pods = new Map();
    const render = () => {
      if (!node) return;
      info.replaceChildren(el("p", {}, nodeReady(node) + " · " + nodeIP(node) + " · pod CIDR " + (node.spec.podCIDR || "none") + " · " + ((node.status.nodeInfo || {}).containerRuntimeVersion || "")));
      const req = { cpu: 0, memory: 0, pods: 0 };
      for (const p of pods.values()) {
        if (p.status && (p.status.phase === "Succeeded" || p.status.phase === "Failed")) continue;
        req.pods++;
        for (const c of p.spec.containers || []) {
          const r = (c.resources && c.resources.requests) || {};
          req.cpu += quantity(r.cpu);
          req.memory += quantity(r.memory);
        }
      }
      const cap = node.status.capacity || {}, alloc = node.status.allocatable || {};
      res.replaceChildren(table(["Resource", "Capacity", "Allocatable", "Requested"], [
        ["CPU", String(cap.cpu || ""), String(alloc.cpu || ""), req.cpu.toFixed(2)],
        ["Memory", String(cap.memory || ""), String(alloc.memory || ""), Math.round(req.memory / 1048576) + "Mi"],
        ["Pods", String(cap.pods || ""), String(alloc.pods || ""), String(req.pods)]]));
      conds.replaceChildren(table(["Type", "Status", "Reason", "Message"], (node.status.conditions || []).map((c) => [c.type, c.status, c.reason || "", c.message || ""])));
      taints.replaceChildren(table(["Key", "Value", "Effect"], (node.spec.taints || []).map((t) => [t.key, t.value || "", t.effect]), "No taints."));
      podsSlot.replaceChildren(table(["Name", "Namespace", "Status"], sorted(pods).map((p) => [p.metadata.name, p.metadata.namespace, podStatus(p)]), "No pods."));
    };
    watch("/api/v1/nodes", { fieldSelector: "metadata.name=" + name }, (items) => { node = items.get("/" + name) || null; render(); }, signal);
    watch("/api/v1/pods", { fieldSelector: "spec.nodeName=" + name }, (items) => { pods = items; render(); }, signal);
    watchEvents("", "Node", name, events, signal);
  }

  function deploymentView(signal, ns, name) {
    const info = slot(), revs = slot(), events = slot();
    mount(el("h1", {}, "Deployment " + ns + "/" + name), section("Rollout", info), section("Revisions", revs), section("Events", events));
    let d = null, rsItems = new Map();
    const render = () => {
      if (!d) { info.replaceChildren(el("p", { class: "empty" }, "This deployment no longer exists.")); return; }
      const st = d.status || {};
      const want = d.spec.replicas === undefined ? 1 : d.spec.replicas;
      const cond = (st.conditions || []).find((c) => c.type === "Progressing");
      info.replaceChildren(el("p", {}, "Desired " + want + " · updated " + (st.updatedReplicas || 0) + " · ready " + (st.readyReplicas || 0) + " · available " + (st.availableReplicas || 0) +
        (cond ? " · " + (cond.reason || "") + ": " + (cond.message || "") : "")));
      const mine = [...rsItems.values()].filter((rs) => (rs.metadata.ownerReferences || []).some((r) => r.uid === d.metadata.uid)).sort((a, b) => revisionOf(b) - revisionOf(a));
      revs.replaceChildren(table(["Revision", "Replica set", "Images", "Replicas", "Age", ""], mine.map((rs, i) => [String(revisionOf(rs)), rs.metadata.name,
        rs.spec.template.spec.containers.map((c) => c.image).join(", "), String(rs.spec.replicas || 0), age(rs.metadata.creationTimestamp),
        i === 0 ? "current" : actionButton("Roll back to this", () => rollBack(d, rs))]), "No revisions yet."));
    };
    watch(collection("apps", "v1", "deployments", ns), { fieldSelector: "metadata.name=" + name }, (items) => { d = items.get(ns + "/" + name) || null; render(); }, signal);
    watch(collection("apps", "v1", "replicasets", ns), {}, (items) => { rsItems = items; render(); }, signal);
    watchEvents(ns, "Deployment", name, events, signal);
  }

  function fieldError(form, causes, fallback) {
    form.querySelectorAll(".field-error").forEach((e) => e.remove());
    let placed = false;
    for (const c of causes || []) {
      const f = (c.field || "").toLowerCase();
      const match = ["image", "replicas", "name", "port"].find((k) => f.includes(k === "port" ? "containerport" : k)) || (f.includes("port") ? "port" : null);
      const input = match && form.querySelector("#deploy-" + match);
      if (input) { input.after(el("span", { class: "field-error", role: "alert" }, c.message || c.reason)); placed = true; }
    }
    if (!placed) form.append(el("p", { class: "field-error", role: "alert" }, fallback));
  }
  function deployView() {
    if (!canWrite()) { mount(el("h1", {}, "Deploy"), el("p", { class: "empty" }, "Read-only users cannot deploy.")); return; }
    const ns = state.ns || "default";
    const input = (id, label, attrs) => el("div", { class: "field" }, el("label", { for: "deploy-" + id }, label), el("input", Object.assign({ id: "deploy-" + id, name: id }, attrs)));
    const form = el("form", { id: "deploy-form" },
      input("name", "Name", { required: true, placeholder: "web" }), input("image", "Image", { required: true, placeholder: "skiff.local/demo:v1" }),
      input("replicas", "Replicas", { type: "number", min: "0", value: "1" }), input("port", "Container port", { type: "number", min: "1", max: "65535", placeholder: "8080" }),
      el("div", { class: "field" }, el("label", { for: "deploy-expose" }, "Expose as a Service"), el("input", { id: "deploy-expose", type: "checkbox" })),
      el("button", { type: "submit" }, "Deploy to " + ns));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const v = (id) => form.querySelector("#deploy-" + id).value.trim();
      const name = v("name"), port = Number(v("port")) || 0;
      const labels = { app: name };
      const container = { name, image: v("image") };
      if (port) container.ports = [{ containerPort: port }];
      const dep = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name, labels }, spec: { replicas: Number(v("replicas") || 1), selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [container] } } } };
      try {
        await api("POST", collection("apps", "v1", "deployments", ns), dep);
        if (form.querySelector("#deploy-expose").checked && port) {
          await api("POST", collection("", "v1", "services", ns), { apiVersion: "v1", kind: "Service", metadata: { name, labels }, spec: { selector: labels, ports: [{ port, targetPort: port }] } });
        }
        flash("Deployed " + name + " in " + ns);
        location.hash = "#/deployment/" + encodeURIComponent(ns) + "/" + encodeURIComponent(name);
      } catch (e) { fieldError(form, e.causes, e.message); }
    });
    const yaml = el("textarea", { id: "yaml", rows: "14", spellcheck: "false", placeholder: "apiVersion: apps/v1\nkind: Deployment\n…" });
    const file = el("input", { type: "file", id: "yaml-file", accept: ".yaml,.yml,.json" });
    file.addEventListener("change", async () => { if (file.files[0]) yaml.value = await file.files[0].text(); });
    const results = el("div", { id: "apply-results" });
    const apply = el("button", { type: "button", id: "apply" }, "Apply");
    apply.addEventListener("click", async () => {
      results.replaceChildren(el("p", {}, "Applying…"));
      try {
        const resp = await fetch("/ui/apply" + q({ namespace: ns }), { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": state.csrf, "Content-Type": "application/yaml" }, body: yaml.value });
        const data = await resp.json();
        if (!resp.ok) { results.replaceChildren(el("p", { class: "field-error", role: "alert" }, data.message)); return; }
        results.replaceChildren(table(["#", "Kind", "Name", "Result", "Fields"], data.map((r) => [String(r.document), r.kind || "", (r.namespace ? r.namespace + "/" : "") + (r.name || ""),
          el("span", { class: r.code < 300 ? "ok" : "field-error" }, r.message), (r.causes || []).map((c) => (c.field || "") + ": " + (c.message || "")).join("; ")])));
      } catch (e) { results.replaceChildren(el("p", { class: "field-error", role: "alert" }, e.message)); }
    });
    mount(el("h1", {}, "Deploy"), section("From a form", form),
      section("From YAML", el("label", { for: "yaml" }, "Manifest (one or more documents)"), yaml, el("div", { class: "inline" }, el("label", { for: "yaml-file" }, "or upload"), file, apply), results));
  }

  // ---- routing ------------------------------------------------------------------
  function route() {
    viewAbort.abort();
    viewAbort = new AbortController();
    const signal = viewAbort.signal;
    const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    document.querySelectorAll("nav a").forEach((a) => a.toggleAttribute("aria-current", a.getAttribute("href") === "#/" + parts[0]));
    switch (parts[0]) {
      case "workloads": workloadsView(signal); break;
      case "pod": podView(signal, parts[1], parts[2]); break;
      case "node": nodeView(signal, parts[1]); break;
      case "deployment": deploymentView(signal, parts[1], parts[2]); break;
      case "deploy": deployView(); break;
      default: clusterView(signal);
    }
    view().focus();
  }

  async function start() {
    const resp = await fetch("/ui/session", { credentials: "same-origin" });
    if (!resp.ok) { location.href = "/ui/login"; return; }
    Object.assign(state, await resp.json());
    document.getElementById("who").textContent = state.user + " (" + state.role + ")";
    document.getElementById("server").textContent = state.server;
    document.getElementById("logout-csrf").value = state.csrf;
    document.body.classList.toggle("read-only", !canWrite());
    const nsSel = document.getElementById("ns");
    nsSel.addEventListener("change", () => { state.ns = nsSel.value; route(); });
    const sel = document.getElementById("sel");
    sel.addEventListener("change", () => { state.sel = sel.value.trim(); route(); });
    const nsAbort = new AbortController();
    watch("/api/v1/namespaces", {}, (items) => {
      const cur = nsSel.value;
      nsSel.replaceChildren(el("option", { value: "" }, "all"), ...sorted(items).map((n) => el("option", { value: n.metadata.name }, n.metadata.name)));
      nsSel.value = cur;
    }, nsAbort.signal);
    window.addEventListener("hashchange", route);
    route();
  }
  start();
})();
