// Warta web app. Vanilla JS, no build step. Every article list comes from the search API.
"use strict";
(function () {
  const I18N = window.WARTA_I18N;
  const TZ = "Asia/Jakarta";
  const PARAM_LISTS = ["source", "region", "language", "entity"];
  const TONES = ["positive", "negative", "neutral"];
  const TONE_ALIASES = { positive: "positive", negative: "negative", neutral: "neutral", positif: "positive", negatif: "negative", netral: "neutral" };
  const TONE_QUERY = { positive: "positif", negative: "negatif", neutral: "netral" };  // the query language's words
  const store = {
    get key() { return sessionStorage.getItem("warta.key"); },
    get role() { return sessionStorage.getItem("warta.role"); },
    get team() { return sessionStorage.getItem("warta.team"); },
    // reader < analyst < admin: an analyst manages its team's monitors, a reader only reads them.
    get canManage() { return this.role === "analyst" || this.role === "admin"; },
    set(key, role, team) {
      sessionStorage.setItem("warta.key", key); sessionStorage.setItem("warta.role", role); sessionStorage.setItem("warta.team", team || "default");
    },
    clear() { for (const k of ["key", "role", "team"]) sessionStorage.removeItem("warta." + k); },
  };
  let lang = localStorage.getItem("warta.lang") === "en" ? "en" : "id";
  let timers = [];
  let renderSeq = 0;
  let lastPage = null;

  // --- helpers ----------------------------------------------------------------------------------

  function t(key, vars) {
    let s = I18N[lang][key];
    if (s === undefined) s = I18N.id[key] !== undefined ? I18N.id[key] : key;
    if (typeof s === "string" && vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined ? m : String(vars[k])));
    return s;
  }

  // h("a", {href: "/x", class: "y", onclick: fn}, "text", child, [children])
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "html") el.innerHTML = v; // only for API highlights, which the API HTML-escapes
      else if (k === "dataset") Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const svgNS = "http://www.w3.org/2000/svg";
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(svgNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
  }

  function fmtTime(iso, withTime = true) {
    if (!iso) return "–";
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    const opts = { timeZone: TZ, day: "numeric", month: "short", year: "numeric" };
    if (withTime) Object.assign(opts, { hour: "2-digit", minute: "2-digit", hour12: false });
    return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "id-ID", opts).format(d) + (withTime ? " WIB" : "");
  }
  function jakartaDate(offsetDays = 0) {
    // YYYY-MM-DD of today (+offset) in Asia/Jakarta.
    const d = new Date(Date.now() + offsetDays * 86400000);
    return new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
  }
  function fmtDuration(sec) {
    if (!sec && sec !== 0) return "–";
    if (sec < 3600) return Math.round(sec / 60) + (lang === "en" ? " min" : " mnt");
    if (sec < 86400 * 2) return Math.round(sec / 3600) + (lang === "en" ? " h" : " jam");
    return Math.round(sec / 86400) + (lang === "en" ? " days" : " hari");
  }
  function fmtNum(n) { return new Intl.NumberFormat(lang === "en" ? "en-GB" : "id-ID").format(n); }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && (body.error || body.detail || body.message)) || "HTTP " + status);
      this.status = status;
      this.body = body || {};
      this.position = body && typeof body.position === "number" ? body.position : null;
      this.code = body && typeof body.code === "string" ? body.code : null;
      this.params = body && body.params && typeof body.params === "object" ? body.params : {};
    }
  }
  // The API's message in the page's language: translated by its stable code (qe_<code> in
  // i18n.js, with the body's params), else the server's own message.
  function errorMessage(e) {
    return e.code && I18N[lang]["qe_" + e.code] !== undefined ? t("qe_" + e.code, e.params) : e.message;
  }

  function qs(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v === null || v === undefined || v === "") continue;
      if (Array.isArray(v)) v.forEach((x) => u.append(k, x));
      else u.append(k, v);
    }
    const str = u.toString();
    return str ? "?" + str : "";
  }

  async function api(path, params, opts = {}) {
    const headers = { Authorization: "Bearer " + (opts.key || store.key || "") };
    const init = { method: opts.method || "GET", headers };
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    let resp;
    try {
      resp = await fetch(path + qs(params), init);
    } catch (e) {
      throw new ApiError(0, { error: t("error_network") });
    }
    if (opts.raw) {
      if (!resp.ok) throw new ApiError(resp.status, await resp.json().catch(() => null));
      return resp;
    }
    const text = await resp.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = { error: text }; }
    if (!resp.ok) {
      if (resp.status === 401 && !opts.key) { store.clear(); }
      if (resp.status === 429) body = { error: t("error_rate", { s: resp.headers.get("Retry-After") || 60 }) };
      throw new ApiError(resp.status, body);
    }
    return body;
  }

  function errorText(e) {
    if (e.status === 401) return t("error_auth");
    if (e.status === 403) return t("error_forbidden");
    let msg = errorMessage(e);
    if (Array.isArray(e.body.detail)) msg = e.body.detail.map((d) => (d.loc || []).slice(1).join(".") + ": " + d.msg).join("; ");
    return t("error_generic", { msg });
  }
  function alertBox(e) { return h("div", { class: "notice error", role: "alert" }, typeof e === "string" ? e : errorText(e)); }

  function announce(msg) {
    const live = document.getElementById("live");
    live.textContent = "";
    setTimeout(() => { live.textContent = msg; }, 30);
  }
  function flash(container, msg, kind = "ok") {
    const el = h("div", { class: "notice " + kind, role: kind === "error" ? "alert" : "status" }, msg);
    container.prepend(el);
    setTimeout(() => el.remove(), 8000);
  }
  function markReady(page) {
    document.documentElement.dataset.ready = page;
    try { performance.mark("warta-rendered"); } catch (e) { /* old browser */ }
  }

  // --- routing ----------------------------------------------------------------------------------

  function navigate(url, replace = false) {
    if (replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    route();
  }

  document.addEventListener("click", (ev) => {
    const a = ev.target.closest("a");
    if (!a || a.target || (a.getAttribute("href") || "").startsWith("#") || a.hasAttribute("download") || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/v1/") || url.pathname.startsWith("/docs")) return;
    ev.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
  window.addEventListener("popstate", route);

  function renderChrome(page) {
    document.documentElement.lang = lang;
    const nav = document.getElementById("nav");
    nav.replaceChildren();
    nav.setAttribute("aria-label", t("nav_label"));
    if (store.key) {
      const items = [["/search", "nav_search", "search"], ["/reports", "nav_reports", "reports"]];
      items.push(["/monitors", "nav_monitors", "monitors"]);
      items.push(["/pickups", "nav_pickups", "pickups"]);
      if (store.role === "admin") items.push(["/sources", "nav_sources", "sources"]);
      const ul = h("ul", {});
      for (const [href, key, name] of items) {
        ul.append(h("li", {}, h("a", { href, "aria-current": page === name ? "page" : null }, t(key))));
      }
      nav.append(ul);
    }
    const tools = document.getElementById("tools");
    tools.replaceChildren();
    append(tools, [
      h("button", { type: "button", class: "link", id: "lang-toggle", lang: lang === "id" ? "en" : "id", "aria-label": t("lang_toggle_label"),
        onclick: async () => {
          lang = lang === "id" ? "en" : "id";
          localStorage.setItem("warta.lang", lang);
          await route();
          document.getElementById("lang-toggle").focus();
        } }, t("lang_toggle")),
      store.key ? h("span", { class: "role", id: "key-role", title: t("team_label") + ": " + (store.team || "default") },
        t("role_" + (store.role || "reader")) + (store.role !== "admin" && store.team && store.team !== "default" ? " · " + store.team : "")) : null,
      store.key ? h("button", { type: "button", class: "link", onclick: () => { store.clear(); navigate("/login"); } }, t("logout")) : null,
    ]);
    document.getElementById("skip").textContent = t("skip");
  }

  async function route() {
    timers.forEach(clearInterval);
    timers = [];
    const seq = ++renderSeq;
    delete document.documentElement.dataset.ready;
    if (location.pathname === "/") history.replaceState(null, "", "/search" + location.search);
    const path = location.pathname;
    const params = new URLSearchParams(location.search);
    const main = document.getElementById("main");
    const focusId = document.activeElement && main.contains(document.activeElement) ? document.activeElement.id : null;
    const page = path.split("/")[1];
    if (page !== "login" && !store.key) {
      return navigate("/login" + qs({ next: path + location.search }), true);
    }
    if (page === "sources" && store.role !== "admin") {
      renderChrome(page);
      main.replaceChildren(alertBox(t("error_forbidden")));
      return markReady(page);
    }
    renderChrome(page);
    const ctx = { main, params, seq, alive: () => seq === renderSeq };
    try {
      if (page === "login") renderLogin(ctx);
      else if (page === "search") await renderSearch(ctx);
      else if (page === "reports") await renderReports(ctx);
      else if (page === "article") await renderArticle(ctx, decodeURIComponent(path.split("/")[2] || ""));
      else if (page === "monitors") await renderMonitors(ctx);
      else if (page === "pickups") await renderPickups(ctx, decodeURIComponent(path.split("/")[2] || ""));
      else if (page === "sources") await renderSources(ctx);
      else main.replaceChildren(h("h1", {}, t("not_found")));
    } catch (e) {
      if (!ctx.alive()) return;
      if (e instanceof ApiError && e.status === 401) return navigate("/login" + qs({ next: path + location.search }), true);
      main.replaceChildren(alertBox(e instanceof ApiError ? e : String(e)));
    }
    if (!ctx.alive()) return;
    const again = focusId && document.getElementById(focusId);
    if (again) again.focus();
    else if (lastPage !== null && page !== lastPage && page !== "login") main.focus({ preventScroll: true });  // screen readers: new page
    lastPage = page;
    markReady(page);
  }

  // --- login ------------------------------------------------------------------------------------

  function renderLogin({ main, params }) {
    document.title = t("login_title") + " · Warta";
    const err = h("div", { id: "login-error", "aria-live": "assertive" });
    const input = h("input", { id: "api-key", name: "key", type: "password", autocomplete: "current-password", required: true,
      "aria-describedby": "api-key-help login-error", spellcheck: "false" });
    const form = h("form", { class: "card narrow", onsubmit: async (ev) => {
      ev.preventDefault();
      err.replaceChildren();
      const key = input.value.trim();
      if (!key) { err.append(alertBox(t("login_empty"))); input.focus(); return; }
      try {
        await api("/v1/search", { size: 1 }, { key });
      } catch (e) {
        err.append(alertBox(e.status === 401 ? t("login_bad") : errorText(e)));
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      let me = { role: "reader", team: "default" };
      try { me = await api("/v1/keys/me", {}, { key }); } catch (e) { /* an older API: read-only */ }
      store.set(key, me.role, me.team);
      const next = params.get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/search");
    } },
      h("h1", {}, t("login_title")),
      h("p", {}, t("login_intro")),
      h("label", { for: "api-key" }, t("login_key")),
      input,
      h("p", { id: "api-key-help", class: "help" }, t("login_key_help")),
      err,
      h("button", { type: "submit", class: "primary" }, t("login_submit")),
    );
    main.replaceChildren(form);
    input.focus();
  }

  // --- search -----------------------------------------------------------------------------------

  function searchState(params) {
    const st = { q: params.get("q") || "", from: params.get("from") || "", to: params.get("to") || "",
      sort: params.get("sort") === "newest" ? "newest" : "relevance", collapse: params.get("collapse") !== "0",
      cursor: params.get("cursor") || "", page: parseInt(params.get("page") || "1", 10) || 1 };
    for (const k of PARAM_LISTS) st[k] = params.getAll(k).filter(Boolean);
    // Tone: the API's labels in the URL (an Indonesian one is read as its label; anything else goes
    // to the API as written, which answers it with a clear error), tone_mismatch=true|false.
    st.tone = [...new Set(params.getAll("tone").filter(Boolean).map((v) => TONE_ALIASES[v.trim().toLowerCase()] || v))];
    st.toneMismatch = ["true", "false"].includes(params.get("tone_mismatch")) ? params.get("tone_mismatch") : "";
    return st;
  }
  function criteriaParams(st) {
    return { q: st.q, from: st.from, to: st.to, source: st.source, region: st.region, language: st.language, entity: st.entity,
      tone: st.tone, tone_mismatch: st.toneMismatch || null };
  }
  function searchUrl(st, changes = {}) {
    const n = Object.assign({}, st, changes);
    return "/search" + qs({ ...criteriaParams(n), sort: n.sort === "newest" ? "newest" : null, collapse: n.collapse ? null : "0",
      cursor: n.cursor || null, page: n.cursor && n.page > 1 ? n.page : null });
  }
  function withFilter(st, field, value) {
    const list = st[field].includes(value) ? st[field] : [...st[field], value];
    return searchUrl(st, { [field]: list, cursor: "", page: 1 });
  }
  // The query language equivalent of the current query and filters (for monitors).
  function monitorQuery(st) {
    const quote = (v) => '"' + v.replace(/"/g, "") + '"';
    const filtered = st.source.length || st.region.length || st.language.length || st.entity.length || st.tone.length || st.toneMismatch;
    const parts = st.q.trim() ? [filtered ? "(" + st.q.trim() + ")" : st.q.trim()] : [];
    const group = (field, values) => {
      if (!values.length) return;
      const terms = values.map((v) => field + ":" + quote(v));
      parts.push(terms.length > 1 ? "(" + terms.join(" OR ") + ")" : terms[0]);
    };
    group("source", st.source); group("region", st.region); group("lang", st.language); group("entity", st.entity);
    // Next to entity: terms, tone: is the tone toward those entities, as the tone filter is.
    const tones = st.tone.map((v) => "tone:" + (TONE_QUERY[v] || quote(v)));
    if (tones.length) parts.push(tones.length > 1 ? "(" + tones.join(" OR ") + ")" : tones[0]);
    if (st.toneMismatch) parts.push((st.toneMismatch === "false" ? "NOT " : "") + "tone:beda");
    return parts.join(" ");
  }
  // A readable name for a monitor made from the search: the query's words and phrases without
  // operators, quotes, field names, languages, negated words or groups and wildcard stars ("/"
  // between alternatives), each once, cut at a word to 60 characters; the filters when no query.
  function monitorName(st) {
    const out = [];
    const seen = new Set();
    let depth = 0, skipFrom = null, negate = false, dropValue = false;
    for (let tok of st.q.match(/"[^"]*"?|[()]|[^\s()"]+/g) || []) {
      if (tok === "(") { if (negate && skipFrom === null) skipFrom = depth; negate = false; depth++; continue; }
      if (tok === ")") { depth = Math.max(0, depth - 1); if (skipFrom !== null && depth <= skipFrom) skipFrom = null; continue; }
      if (skipFrom !== null) continue;
      if (tok === "AND" || /^O?NEAR\/\d+$/.test(tok)) continue;
      if (tok === "OR") { out.push("/"); continue; }
      if (tok === "NOT" || tok === "-") { negate = true; continue; }
      if (tok.startsWith("-")) continue;  // -word: not what the monitor is about
      const field = /^([A-Za-z][A-Za-z.]*):/.exec(tok);
      if (field) {
        tok = tok.slice(field[0].length);
        if (/^(lang|tone(\.\w+)?)$/i.test(field[1])) { dropValue = !tok; continue; }
        if (!tok) continue;  // the value follows: a phrase or a group
      }
      if (negate || dropValue) { negate = dropValue = false; continue; }
      const word = tok.replace(/"/g, "").replace(/\*$/, "").trim();
      if (word && !seen.has(word.toLowerCase())) { seen.add(word.toLowerCase()); out.push(word); }
    }
    let name = out.join(" ").replace(/(^|\s)\/(?=\s\/|\s*$)/g, "").replace(/^\s*\/\s*/, "").replace(/\s+/g, " ").trim();
    if (!name) name = [...st.entity, ...st.region, ...st.source].join(", ") || monitorQuery(st);
    if (name.length > 60) name = name.slice(0, 60).replace(/\s+\S*$/, "").replace(/[\s/,]+$/, "") + "…";
    return name;
  }

  // Dates are shown and typed as dd/mm/yyyy whatever the browser's locale; the URL and the API
  // keep ISO yyyy-mm-dd.
  function showDate(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    return m ? `${m[3]}/${m[2]}/${m[1]}` : iso || "";
  }
  // "31/12/2025" (also 31-12-2025, 31.12.2025, 1/2/2025 and ISO 2025-12-31) to "2025-12-31";
  // "" for an empty field, null for anything else.
  function parseDate(text) {
    const v = (text || "").trim();
    if (!v) return "";
    let m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(v);
    const [d, mo, y] = m ? [+m[1], +m[2], +m[3]] : (m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v)) ? [+m[3], +m[2], +m[1]] : [0, 0, 0];
    const dt = new Date(Date.UTC(y, mo - 1, d));
    if (!y || dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) return null;
    return `${String(y).padStart(4, "0")}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
  }

  function syntaxHelp() {
    return h("details", { class: "syntax" },
      h("summary", {}, t("syntax_help")),
      h("table", {}, h("tbody", {}, t("syntax_rows").map(([code, what]) => h("tr", {}, h("td", {}, h("code", {}, code)), h("td", {}, what))))),
      h("p", { class: "help" }, t("syntax_more")),
    );
  }

  function queryErrorBox(q, e) {
    const pos = Math.max(0, Math.min(e.position === null ? q.length : e.position, q.length));
    const shown = h("code", { class: "q-echo" }, q.slice(0, pos), h("mark", { class: "err-pos" }, q.slice(pos, pos + 1) || " "), q.slice(pos + 1));
    return h("div", { class: "notice error", role: "alert", id: "q-error" },
      h("p", {}, t("query_error", { msg: errorMessage(e) }), e.position !== null ? " (" + t("query_error_at", { pos: pos + 1 }) + ")" : ""),
      h("pre", { "aria-hidden": "true" }, shown));
  }

  async function renderSearch({ main, params, alive }) {
    const st = searchState(params);
    document.title = (st.q ? st.q + " · " : "") + t("search_title") + " · Warta";

    // Form
    const qInput = h("input", { id: "q", name: "q", type: "search", value: st.q, placeholder: t("q_placeholder"),
      autocomplete: "off", spellcheck: "false", "aria-describedby": "q-help" });
    const field = (id, label, input) => h("div", { class: "field" }, h("label", { for: id }, label), input);
    const dateIn = (id, name, iso) => h("input", { id, name, type: "text", value: showDate(iso), placeholder: t("date_placeholder"),
      inputmode: "numeric", autocomplete: "off", maxlength: 10, size: 10, "aria-describedby": "date-error" });
    const fromIn = dateIn("f-from", "from", st.from);
    const toIn = dateIn("f-to", "to", st.to);
    const dateError = h("div", { id: "date-error", "aria-live": "assertive" });
    const textFilter = (id, name, values, list) => h("input", { id, name, type: "text", value: values.join(", "), list, autocomplete: "off" });
    const langSel = h("select", { id: "f-language", name: "language" },
      h("option", { value: "" }, t("any")),
      [["id", "Indonesia"], ["jv", "Jawa"], ["su", "Sunda"], ["en", "English"]].map(([v, l]) =>
        h("option", { value: v, selected: st.language.includes(v) }, l)));
    const sortSel = h("select", { id: "f-sort", name: "sort" },
      h("option", { value: "relevance", selected: st.sort === "relevance" }, t("sort_relevance")),
      h("option", { value: "newest", selected: st.sort === "newest" }, t("sort_newest")));
    const collapseIn = h("input", { id: "f-collapse", name: "collapse", type: "checkbox", checked: st.collapse });
    const toneSel = h("select", { id: "f-tone", name: "tone" },
      h("option", { value: "" }, t("any")),
      TONES.map((v) => h("option", { value: v, selected: st.tone[0] === v }, t("tone_" + v))));
    const mismatchIn = h("input", { id: "f-tone-mismatch", name: "tone_mismatch", type: "checkbox", checked: st.toneMismatch === "true" });
    const preset = (key, from, to) => h("button", { type: "button", class: "chip-btn", "aria-pressed": String(st.from === from && st.to === to),
      onclick: () => navigate(searchUrl(st, { from, to, cursor: "", page: 1 })) }, t(key));
    const splitList = (v) => v.split(",").map((x) => x.trim()).filter(Boolean);
    // The region, entity and source boxes suggest values that exist in the index as the user types
    // (GET /v1/suggest into the box's <datalist>: native, keyboard accessible). The part after the
    // last comma is completed; each option keeps what comes before it.
    const suggestInto = (input, field) => {
      let timer = null, seq = 0;
      input.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(async () => {
          const value = input.value, cut = value.lastIndexOf(",");
          const before = cut >= 0 ? value.slice(0, cut + 1) + " " : "";
          const mine = ++seq;
          let res;
          try { res = await api("/v1/suggest", { field, prefix: value.slice(cut + 1).trim(), size: 10 }); } catch (e) { return; }
          const dl = document.getElementById(input.getAttribute("list"));
          if (mine !== seq || !dl || !input.isConnected) return;
          dl.replaceChildren(...res.values.map((v) => h("option", { value: before + v.value, label: t("suggest_count", { n: fmtNum(v.count) }) })));
        }, 150);
      });
      return input;
    };

    const form = h("form", { id: "search-form", role: "search", class: "search-form", onsubmit: (ev) => {
      ev.preventDefault();
      dateError.replaceChildren();
      for (const el of [fromIn, toIn]) {
        el.removeAttribute("aria-invalid");
        if (parseDate(el.value) === null) {
          el.setAttribute("aria-invalid", "true");
          dateError.append(alertBox(t("date_invalid", { value: el.value.trim() })));
          el.focus();
          return;
        }
      }
      const langs = langSel.value ? [langSel.value, ...st.language.filter((l) => l !== langSel.value)] : [];
      // The select shows one tone; more in the URL (tone=negative&tone=neutral) stay until it changes.
      const tones = !toneSel.value ? [] : toneSel.value === st.tone[0] ? st.tone : [toneSel.value];
      const mismatch = mismatchIn.checked ? "true" : st.toneMismatch === "false" ? "false" : "";
      navigate(searchUrl(st, { q: qInput.value.trim(), from: parseDate(fromIn.value), to: parseDate(toIn.value), tone: tones, toneMismatch: mismatch,
        source: splitList(document.getElementById("f-source").value), region: splitList(document.getElementById("f-region").value),
        entity: splitList(document.getElementById("f-entity").value), language: langs, sort: sortSel.value,
        collapse: collapseIn.checked, cursor: "", page: 1 }));
    } },
      h("h1", { class: "visually-hidden" }, t("search_title")),
      h("div", { class: "qrow" },
        h("label", { for: "q", class: "visually-hidden" }, t("q_label")),
        qInput,
        h("button", { type: "submit", class: "primary", id: "search-submit" }, t("search_submit"))),
      h("div", { id: "q-help" }, syntaxHelp()),
      h("div", { id: "q-error-slot" }),
      h("details", { class: "filters-box", open: window.innerWidth > 800 || st.from || st.to || PARAM_LISTS.some((k) => st[k].length) || st.tone.length || st.toneMismatch || st.sort !== "relevance" ? true : null },
       h("summary", {}, t("filters")),
       h("fieldset", { class: "filters" },
        h("legend", { class: "visually-hidden" }, t("filters")),
        h("div", { class: "presets", role: "group", "aria-label": t("presets") },
          preset("preset_today", jakartaDate(0), jakartaDate(0)), preset("preset_7", jakartaDate(-6), jakartaDate(0)),
          preset("preset_30", jakartaDate(-29), jakartaDate(0)), preset("preset_all", "", "")),
        h("div", { class: "grid" },
          field("f-from", t("date_from") + " (" + t("date_placeholder") + ")", fromIn), field("f-to", t("date_to") + " (" + t("date_placeholder") + ")", toIn),
          field("f-source", t("f_source"), suggestInto(textFilter("f-source", "source", st.source, "dl-source"), "source")),
          field("f-region", t("f_region"), suggestInto(textFilter("f-region", "region", st.region, "dl-region"), "region")),
          field("f-language", t("f_language"), langSel),
          field("f-entity", t("f_entity"), suggestInto(textFilter("f-entity", "entity", st.entity, "dl-entity"), "entity")),
          field("f-tone", t("f_tone"), toneSel),
          h("div", { class: "field check" }, mismatchIn, h("label", { for: "f-tone-mismatch" }, t("f_tone_mismatch"))),
          field("f-sort", t("sort"), sortSel),
          h("div", { class: "field check" }, collapseIn, h("label", { for: "f-collapse" }, t("collapse")))),
        dateError,
        h("div", { class: "actions" }, h("button", { type: "submit", id: "apply" }, t("apply"))))),
      h("datalist", { id: "dl-source" }), h("datalist", { id: "dl-region" }), h("datalist", { id: "dl-entity" }),
    );

    // Active filter chips
    const chips = [];
    const label = { source: "f_source", region: "f_region", language: "f_language", entity: "f_entity" };
    for (const k of PARAM_LISTS) {
      for (const v of st[k]) {
        chips.push(h("li", {}, h("a", { class: "chip removable", href: searchUrl(st, { [k]: st[k].filter((x) => x !== v), cursor: "", page: 1 }),
          "aria-label": t("remove_filter", { name: t(label[k]) + ": " + v }) }, t(label[k]) + ": " + v, h("span", { "aria-hidden": "true" }, " ×"))));
      }
    }
    const chip = (href, text) => h("li", {}, h("a", { class: "chip removable", href, "aria-label": t("remove_filter", { name: text }) },
      text, h("span", { "aria-hidden": "true" }, " ×")));
    for (const v of st.tone) {
      chips.push(chip(searchUrl(st, { tone: st.tone.filter((x) => x !== v), cursor: "", page: 1 }),
        t("f_tone") + ": " + (TONES.includes(v) ? t("tone_" + v) : v)));
    }
    if (st.toneMismatch) {
      chips.push(chip(searchUrl(st, { toneMismatch: "", cursor: "", page: 1 }), t(st.toneMismatch === "false" ? "f_tone_match" : "f_tone_mismatch")));
    }
    if (st.from || st.to) {
      chips.push(h("li", {}, h("a", { class: "chip removable", href: searchUrl(st, { from: "", to: "", cursor: "", page: 1 }),
        "aria-label": t("remove_filter", { name: (showDate(st.from) || "…") + " – " + (showDate(st.to) || "…") }) }, (showDate(st.from) || "…") + " – " + (showDate(st.to) || "…"), h("span", { "aria-hidden": "true" }, " ×"))));
    }
    const chipBar = chips.length ? h("div", { class: "chipbar" }, h("h2", { class: "visually-hidden" }, t("active_filters")),
      h("ul", { class: "chips" }, chips), h("a", { href: searchUrl({ ...st, source: [], region: [], language: [], entity: [], tone: [], toneMismatch: "", from: "", to: "" }), class: "small" }, t("reset"))) : null;

    const resultsCol = h("section", { class: "results", "aria-labelledby": "results-h" }, h("p", {}, t("loading")));
    const facetsCol = h("aside", { class: "facets", "aria-labelledby": "facets-h" });
    main.replaceChildren(...[form, chipBar, h("div", { class: "layout" }, resultsCol, facetsCol)].filter(Boolean));

    const crit = criteriaParams(st);
    const searchP = api("/v1/search", { ...crit, size: 20, sort: st.sort, collapse: st.collapse ? "true" : "false", cursor: st.cursor || null });
    let res;
    try {
      res = await searchP;
    } catch (e) {
      if (!alive()) return;
      if (e.status === 400 && e.position !== null) {
        document.getElementById("q-error-slot").append(queryErrorBox(st.q, e));
        qInput.setAttribute("aria-invalid", "true");
        qInput.setAttribute("aria-describedby", "q-error q-help");
        resultsCol.replaceChildren();
        facetsCol.remove();
        qInput.focus();
        qInput.setSelectionRange(e.position, Math.min(e.position + 1, st.q.length));
        announce(t("query_error", { msg: errorMessage(e) }));
        return;
      }
      throw e;
    }
    if (!alive()) return;
    const timelineP = api("/v1/analytics/timeline", crit).catch((e) => e);  // the API picks the interval from the range
    const facetFields = [["source", "f_source"], ["region", "f_region"], ["language", "f_language"], ["entity", "f_entity"]];
    const facetPs = facetFields.map(([f]) => api("/v1/analytics/top", { ...crit, field: f, size: 10 }).catch((e) => e));

    // Results
    const countText = res.total_stories !== null && res.total_stories !== undefined
      ? t("results_count_stories", { n: fmtNum(res.total), s: fmtNum(res.total_stories) }) : t("results_count", { n: fmtNum(res.total) });
    const exportLink = h("a", { class: "button", id: "export-csv", href: "/v1/export" + qs({ ...crit, format: "csv" }), onclick: (ev) => exportCsv(ev, crit) }, t("export_csv"));
    const monitorBtn = store.canManage && (st.q.trim() || monitorQuery(st)) ? h("a", { class: "button", id: "save-monitor",
      href: "/monitors" + qs({ new_q: monitorQuery(st), new_name: monitorName(st) }) }, t("save_monitor")) : null;
    const chartBox = h("figure", { class: "chart", id: "timeline" }, h("figcaption", {}, t("chart_title")), h("p", { class: "help" }, t("loading")));
    const list = h("ol", { class: "hits", id: "hits" }, res.hits.map((hit) => renderHit(hit, st)));
    const pager = h("nav", { class: "pager", "aria-label": t("pagination") },
      st.cursor ? h("a", { href: searchUrl(st, { cursor: "", page: 1 }) }, "« " + t("first_page")) : null,
      st.cursor ? h("span", {}, t("page_n", { n: st.page })) : null,
      res.next_cursor ? h("a", { href: searchUrl(st, { cursor: res.next_cursor, page: st.page + 1 }), rel: "next", id: "next-page" }, t("next_page") + " »") : null);
    resultsCol.replaceChildren(
      h("div", { class: "results-head" },
        h("h2", { id: "results-h" }, t("results"), " ", h("span", { class: "count", id: "result-count" }, countText)),
        h("div", { class: "actions" }, exportLink, h("a", { class: "button", id: "make-report", href: "/reports" + qs(crit) }, t("make_report")), monitorBtn)),
      chartBox,
      res.hits.length ? list : h("p", { class: "empty" }, t("no_results")),
      pager);
    announce(countText);
    const notices = (res.notices || []).map((n) => noticeLine(n, st));
    if (notices.length) document.getElementById("q-error-slot").append(h("div", { class: "notice hint", role: "status", id: "q-notices" }, notices));
    try { performance.mark("warta-first-results"); } catch (e) { /* old browser */ }

    // Facets and chart (parallel, already in flight)
    const [timeline, ...facets] = await Promise.all([timelineP, ...facetPs]);
    if (!alive()) return;
    chartBox.replaceChildren(h("figcaption", {}, t("chart_title"), timeline instanceof Error ? null
      : h("span", { class: "help", id: "chart-interval" }, " · " + t("chart_interval", { unit: t("unit_" + timeline.interval) }))), timeline instanceof Error ? alertBox(timeline) : timelineChart(timeline.buckets, timeline.interval));
    facetsCol.replaceChildren(h("h2", { id: "facets-h" }, t("facets")));
    // Facet keys come in their display form (outlets by name); a click filters by that form.
    facetFields.forEach(([f, key], i) => {
      const data = facets[i];
      if (data instanceof Error) { facetsCol.append(alertBox(data)); return; }
      if (!data.values.length) return;
      const dl = document.getElementById("dl-" + f);
      if (dl) dl.replaceChildren(...data.values.map((b) => h("option", { value: b.key })));
      facetsCol.append(h("section", { class: "facet", "aria-labelledby": "facet-" + f },
        h("h3", { id: "facet-" + f }, t(key)),
        h("ul", {}, data.values.map((b) => {
          const active = st[f].map((x) => x.toLowerCase()).includes(b.key.toLowerCase());
          return h("li", {}, h("a", { href: withFilter(st, f, b.key), class: active ? "active" : null, "aria-current": active ? "true" : null,
            "aria-label": t("facet_add", { name: b.key }) + " (" + b.count + ")" },
            h("span", { class: "k" }, b.key), h("span", { class: "n" }, fmtNum(b.count))));
        }))));
    });
  }

  function renderHit(hit, st) {
    const hl = hit.highlights || {};
    const title = h("h3", {}, h("a", { href: "/article/" + encodeURIComponent(hit.id), html: hl.title ? hl.title[0] : null }, hl.title ? null : hit.title));
    const snippet = hl.body && hl.body.length ? h("p", { class: "snippet", html: "… " + hl.body.join(" … ") + " …" }) : null;
    const extra = summaryBeyond(hit.summary || [], hl.body || []);
    const summary = extra.length ? h("p", { class: "summary" }, extra.join(" ")) : null;
    const meta = h("p", { class: "meta" },
      h("span", { class: "outlet" }, hit.outlet || hit.source), " · ",
      h("time", { datetime: hit.published_at || "" }, fmtTime(hit.published_at)),
      hit.regions && hit.regions.length ? [" · ", h("span", { class: "region" }, hit.regions.filter((r) => r.level !== "provinsi").concat(hit.regions.filter((r) => r.level === "provinsi")).map((r) => r.name).join(", "))] : null,
      hit.language ? [" · ", h("span", { class: "lang" }, hit.language)] : null,
      hit.tone ? [" · ", toneBadge(hit.tone)] : null);
    const ents = (hit.entities || []).slice(0, 8);
    const chips = ents.length ? h("ul", { class: "chips ents", "aria-label": t("entities") }, ents.map((e) =>
      h("li", {}, h("a", { class: "chip ent-" + e.type, href: withFilter(st, "entity", e.canonical), title: t("ent_" + e.type),
        "aria-label": t("entity_filter", { name: e.canonical }) }, e.canonical)))) : null;
    let story = null;
    if (hit.story && hit.story.story_size > 1) {
      const n = hit.story.outlets.length;
      const panel = h("div", { class: "story-panel", id: "story-" + hit.id, hidden: true });
      const btn = h("button", { type: "button", class: "badge story-badge", "aria-expanded": "false", "aria-controls": panel.id,
        onclick: async () => {
          const open = btn.getAttribute("aria-expanded") === "true";
          btn.setAttribute("aria-expanded", String(!open));
          panel.hidden = open;
          if (!open && !panel.dataset.loaded) {
            panel.replaceChildren(h("p", {}, t("loading")));
            try {
              const data = await api("/v1/stories/" + encodeURIComponent(hit.story.story_id));
              panel.dataset.loaded = "1";
              panel.replaceChildren(h("h4", {}, t("story_members")), storyList(data.members, hit.id));
            } catch (e) { panel.replaceChildren(alertBox(e)); }
          }
        } }, t("carried_by", { n }), hit.story.story_size !== n ? " · " + t("story_articles", { n: hit.story.story_size }) : "");
      story = [btn, panel];
    }
    return h("li", { class: "hit" }, h("article", {}, title, meta, story, snippet, summary, chips));
  }

  // --- tone -------------------------------------------------------------------------------------

  function toneName(label) { return TONES.includes(label) ? t("tone_" + label) : String(label || "–"); }
  function fmtScore(x) {
    return typeof x === "number" ? x.toLocaleString(lang === "en" ? "en-GB" : "id-ID", { maximumFractionDigits: 2, signDisplay: "exceptZero" }) : "–";
  }
  // An article's tone (hit.tone: label, score, headline, body) as one badge: the overall tone
  // ("Negatif"), or both when the headline's tone differs from the body's ("Judul: Negatif · Isi:
  // Positif"). The words are always there; the colour only repeats them. Screen readers get the
  // whole reading, with the score, from the label.
  function toneBadge(tone) {
    if (!tone || !tone.label) return null;
    const vars = { label: toneName(tone.label), score: fmtScore(tone.score), headline: toneName(tone.headline), body: toneName(tone.body) };
    if (!tone.headline || !tone.body || tone.headline === tone.body) {
      const title = t("tone_title", vars);
      return h("span", { class: "badge tone tone-" + tone.label, role: "img", title, "aria-label": title, dataset: { tone: tone.label } }, vars.label);
    }
    const title = t("tone_title_parts", vars);
    return h("span", { class: "badge tone tone-mixed", role: "img", title, "aria-label": title, dataset: { tone: tone.label, headline: tone.headline, body: tone.body } },
      h("span", { class: "tone-part tone-" + tone.headline }, t("tone_headline") + ": " + vars.headline), " · ",
      h("span", { class: "tone-part tone-" + tone.body }, t("tone_body") + ": " + vars.body));
  }
  // The badge of one label: `what` (the headline, an entity) is what the tone is of.
  function labelBadge(label, score, what) {
    const title = what + ": " + toneName(label) + (typeof score === "number" ? " (" + t("tone_score") + " " + fmtScore(score) + ")" : "");
    return h("span", { class: "badge tone tone-" + label, role: "img", title, "aria-label": title, dataset: { tone: label } }, toneName(label));
  }

  // The article page's tone: overall, headline and body, then the tone toward each person and
  // organisation with the sentence that decided it (none for a neutral one).
  function toneSection(a) {
    const tone = a.tone, ets = a.entity_tones || [];
    if (!tone && !ets.length) return null;
    const part = (key, label, score) => [h("span", { class: "tone-what" }, t(key) + ": "), labelBadge(label, score, t(key))];
    return h("section", { class: "card", "aria-labelledby": "tone-h", id: "article-tone" }, h("h2", { id: "tone-h" }, t("article_tone")),
      tone ? h("p", { class: "tone-line" }, part("article_tone_overall", tone.label, tone.score),
        tone.headline ? [" · ", part("tone_headline", tone.headline)] : null, " · ", part("tone_body", tone.body)) : null,
      h("h3", { id: "entity-tones-h" }, t("entity_tones")),
      ets.length ? h("ul", { class: "entity-tones", id: "entity-tones", "aria-labelledby": "entity-tones-h" }, ets.map((e) => h("li", { dataset: { entity: e.canonical, tone: e.label } },
        h("a", { class: "chip ent-" + e.type, href: "/search" + qs({ entity: e.canonical }), title: t("ent_" + e.type) }, e.canonical), " ",
        labelBadge(e.label, e.score, e.canonical), " ",
        h("span", { class: "help" }, t("entity_tone_mentions", { n: fmtNum(e.mentions || 0) })),
        e.evidence ? h("blockquote", { class: "evidence tone-" + e.label },
          h("span", { class: "visually-hidden" }, t("entity_tone_evidence") + ": "), "“" + e.evidence + "”") : null)))
        : h("p", { class: "help" }, t("entity_tones_none")));
  }

  // A hint of the API's `notices`, translated by code (qn_<code>), else its message; a lower-case
  // operator gets a link to the query with it in capitals.
  function noticeLine(n, st) {
    const p = n.params || {};
    // List params (the regions a name matched, close names) read as "A dan B" / "A atau B".
    const vars = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Array.isArray(v)
      ? (v.length > 1 ? v.slice(0, -1).join(", ") + " " + t(k === "suggestions" ? "list_or" : "list_and") + " " + v[v.length - 1] : v.join("")) : v]));
    if (n.code === "tone_entity_scope") {  // toward: one list of names per entity, the tone holding toward each
      vars.toward = (p.toward || []).map((names) => names.join(" " + t("list_or") + " ")).join(" " + t("list_and") + " ");
      if (n.position === null || n.position === undefined) vars.term = t("f_tone") + " “" + toneName(p.label) + "”";  // the filter, not q
    }
    let text = I18N[lang]["qn_" + n.code] !== undefined ? t("qn_" + n.code, vars) : n.message;
    if (n.code === "region_unknown" && (p.suggestions || []).length) text += " " + t("qn_region_suggest", vars);
    let fix = null;
    if (n.code === "lowercase_operator" && typeof n.position === "number" && st.q.slice(n.position, n.position + p.word.length) === p.word) {
      const q = st.q.slice(0, n.position) + p.operator + st.q.slice(n.position + p.word.length);
      fix = [" ", h("a", { href: searchUrl(st, { q, cursor: "", page: 1 }), class: "fix" }, t("qn_fix", { operator: p.operator }))];
    }
    return h("p", { class: "q-notice" }, text, fix);
  }

  // The summary sentences (at most two) that the snippet does not already show: a sentence is left
  // out when most of its word pairs are in the highlighted fragments.
  function summaryBeyond(summary, fragments) {
    const words = (text) => (text.replace(/<[^>]*>/g, " ").replace(/&[a-z#0-9]+;/gi, " ").toLowerCase().match(/[\p{L}\p{N}]+/gu) || []);
    const pairs = (ws) => ws.length > 1 ? ws.slice(1).map((w, i) => ws[i] + " " + w) : ws;
    const shown = new Set(fragments.flatMap((f) => pairs(words(f))));
    return summary.slice(0, 2).filter((sentence) => {
      const own = pairs(words(sentence));
      return !own.length || own.filter((x) => shown.has(x)).length / own.length < 0.5;
    });
  }

  function storyList(members, exceptId) {
    const others = members.filter((m) => m.id !== exceptId);
    if (!others.length) return h("p", { class: "help" }, t("no_story"));
    return h("ul", { class: "story-list" }, others.map((m) => h("li", {},
      h("a", { href: "/article/" + encodeURIComponent(m.id) }, m.title), " ",
      h("span", { class: "meta" }, (m.outlet || m.source) + " · " + fmtTime(m.published_at)))));
  }

  async function exportCsv(ev, crit) {
    ev.preventDefault();
    const a = ev.currentTarget;
    const old = a.textContent;
    a.textContent = t("exporting");
    a.setAttribute("aria-busy", "true");
    try {
      const resp = await api("/v1/export", { ...crit, format: "csv" }, { raw: true });
      const blob = await resp.blob();
      const url = URL.createObjectURL(blob);
      const dl = h("a", { href: url, download: "warta-export-" + jakartaDate(0) + ".csv", hidden: true });
      document.body.append(dl);
      dl.click();
      dl.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      a.parentElement.append(alertBox(e));
    } finally {
      a.textContent = old;
      a.removeAttribute("aria-busy");
    }
  }

  // Bucket days into weeks or months when the range is long, so bars stay readable. Buckets the API
  // already counted per a coarser interval (a range too long for days) are drawn as they come.
  function rebucket(buckets, interval) {
    if (interval && interval !== "day") return { unit: interval, buckets };
    if (buckets.length <= 120) return { unit: "day", buckets };
    const size = buckets.length <= 700 ? "week" : "month";
    const out = new Map();
    for (const b of buckets) {
      let key = b.key.slice(0, 10);
      if (size === "month") key = key.slice(0, 7) + "-01";
      else {
        const d = new Date(key + "T00:00:00Z");
        d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
        key = d.toISOString().slice(0, 10);
      }
      const into = out.get(key) || { key, count: 0, tone: null };
      into.count += b.count;
      if (b.tone) into.tone = addTone(into.tone, b.tone);
      out.set(key, into);
    }
    return { unit: size, buckets: [...out.values()] };
  }
  // The sum of two tone splits ({positive, negative, neutral}); `into` is changed, or made when null.
  function addTone(into, tone) {
    const out = into || { positive: 0, negative: 0, neutral: 0 };
    for (const k of TONES) out[k] += tone[k] || 0;
    return out;
  }
  // A bar's segments, bottom up: each tone, then the articles without one (enriched before tone).
  const STACK = ["negative", "neutral", "positive"];
  function toneSegments(b) {
    const parts = STACK.map((k) => [k, (b.tone && b.tone[k]) || 0]);
    const toned = parts.reduce((a, [, n]) => a + n, 0);
    parts.push(["none", Math.max(0, b.count - toned)]);
    return { parts, sum: Math.max(b.count, toned) };  // counting stories, a story can have two tones
  }

  function timelineChart(raw, interval) {
    if (!raw.length) return h("p", { class: "help" }, t("chart_empty"));
    const { unit, buckets } = rebucket(raw, interval);
    const W = 600, H = 120, pad = 18;
    const max = Math.max(1, ...buckets.map((b) => b.count));
    const total = buckets.reduce((a, b) => a + b.count, 0);
    const peak = buckets.reduce((a, b) => (b.count > a.count ? b : a), buckets[0]);
    const bw = (W - 2) / buckets.length;
    // The tone mix, when the API splits the buckets by tone and any article has one; else plain bars.
    const tones = buckets.reduce((a, b) => (b.tone ? addTone(a, b.tone) : a), null);
    const toned = tones !== null && TONES.some((k) => tones[k] > 0);
    const untoned = toned ? buckets.reduce((a, b) => a + toneSegments(b).parts[3][1], 0) : 0;
    const legend = toned ? [...STACK.slice().reverse().map((k) => [k, tones[k]]), ...(untoned ? [["none", untoned]] : [])] : [];
    const label = t("chart_label", { unit: t("unit_" + unit), total: fmtNum(total), max: fmtNum(peak.count), at: fmtTime(peak.key, false) })
      + (toned ? t("chart_tone_label", { parts: legend.map(([k, n]) => t("tone_" + k).toLowerCase() + " " + fmtNum(n)).join(", ") }) : "");
    const svg = s("svg", { viewBox: `0 0 ${W} ${H + pad}`, role: "img", "aria-label": label, preserveAspectRatio: "none", class: "bars" });
    buckets.forEach((b, i) => {
      const bh = b.count ? Math.max(2, (b.count / max) * (H - 4)) : 0;
      const x = (1 + i * bw).toFixed(2), width = Math.max(0.5, bw - (bw > 3 ? 1 : 0)).toFixed(2);
      const tip = fmtTime(b.key, false) + ": " + b.count;
      if (!toned || !b.count) {
        const r = s("rect", { x, y: (H - bh).toFixed(2), width, height: bh.toFixed(2) });
        r.append(s("title", {}, tip));
        svg.append(r);
        return;
      }
      const { parts, sum } = toneSegments(b);
      const g = s("g", { class: "bucket" }, s("title", {}, tip + " (" + parts.filter(([, n]) => n).map(([k, n]) => t("tone_" + k) + " " + n).join(", ") + ")"));
      let y = H;
      for (const [k, n] of parts) {
        if (!n) continue;
        const sh = (n / sum) * bh;
        y -= sh;
        g.append(s("rect", { x, y: y.toFixed(2), width, height: sh.toFixed(2), class: "tone-" + k, "data-tone": k, "data-count": n }));
      }
      svg.append(g);
    });
    svg.append(s("line", { x1: 0, y1: H + 0.5, x2: W, y2: H + 0.5, class: "axis" }));
    const labels = h("div", { class: "chart-axis", "aria-hidden": "true" },
      h("span", {}, fmtTime(buckets[0].key, false)), h("span", {}, "max " + fmtNum(max)), h("span", {}, fmtTime(buckets[buckets.length - 1].key, false)));
    const key = toned ? h("ul", { class: "chart-legend", id: "timeline-legend", "aria-label": t("tone_legend") }, legend.map(([k, n]) =>
      h("li", { dataset: { tone: k } }, h("span", { class: "swatch tone-" + k, "aria-hidden": "true" }), t("tone_" + k) + ": " + fmtNum(n)))) : null;
    return h("div", {}, svg, labels, key);
  }

  function sparkline(buckets, label) {
    const W = 160, H = 32;
    const max = Math.max(1, ...buckets.map((b) => b.count));
    const total = buckets.reduce((a, b) => a + b.count, 0);
    const step = buckets.length > 1 ? W / (buckets.length - 1) : W;
    const pts = buckets.map((b, i) => `${(i * step).toFixed(1)},${(H - 2 - (b.count / max) * (H - 4)).toFixed(1)}`).join(" ");
    return s("svg", { viewBox: `0 0 ${W} ${H}`, class: "spark", role: "img", "aria-label": label + ": " + fmtNum(total) },
      s("polyline", { points: pts || `0,${H - 2} ${W},${H - 2}`, fill: "none" }));
  }

  // --- article ----------------------------------------------------------------------------------

  // Entity spans over `body`: by offsets when they point at the entity's text, else by surface text.
  function entitySpans(body, entities) {
    const spans = [];
    const viaOffsets = entities.length > 0 && entities.every((e) => typeof e.start === "number" && body.slice(e.start, e.end) === e.text);
    if (viaOffsets) {
      for (const e of entities) spans.push({ start: e.start, end: e.end, e });
    } else {
      const seen = new Set();
      for (const e of entities) {
        const surface = e.text || e.canonical;
        if (!surface || seen.has(surface)) continue;
        seen.add(surface);
        let i = body.indexOf(surface);
        while (i !== -1) {
          const before = i === 0 ? "" : body[i - 1], after = body[i + surface.length] || "";
          if (!/[\p{L}\p{N}]/u.test(before) && !/[\p{L}\p{N}]/u.test(after)) spans.push({ start: i, end: i + surface.length, e });
          i = body.indexOf(surface, i + surface.length);
        }
      }
    }
    spans.sort((a, b) => a.start - b.start || b.end - a.end);
    const out = [];
    let last = 0;
    for (const sp of spans) if (sp.start >= last) { out.push(sp); last = sp.end; }
    return out;
  }

  function highlightedBody(body, entities) {
    const div = h("div", { class: "body", id: "article-body" });
    const para = () => h("p", {});
    let p = para();
    const pushText = (text) => {
      const parts = text.split(/\n+/);
      parts.forEach((part, i) => {
        if (i > 0) { if (p.childNodes.length) div.append(p); p = para(); }
        if (part) p.append(document.createTextNode(part));
      });
    };
    let pos = 0;
    for (const sp of entitySpans(body, entities)) {
      pushText(body.slice(pos, sp.start));
      p.append(h("mark", { class: "ent ent-" + sp.e.type, title: t("ent_" + sp.e.type) + ": " + sp.e.canonical }, body.slice(sp.start, sp.end)));
      pos = sp.end;
    }
    pushText(body.slice(pos));
    if (p.childNodes.length) div.append(p);
    return div;
  }

  // --- reports (Laporan) ------------------------------------------------------------------------
  // The clipping report of the current query and filters (the Search page's URL parameters), from
  // GET /v1/reports: shown in a sandboxed frame, opened as its own page (a blob: URL, since a plain
  // link cannot send the key) and downloaded as a PDF. The report is in the interface's language.
  let reportBlobUrl = null;

  function reportUrl(st, changes = {}) {
    const n = Object.assign({}, st, changes);
    return "/reports" + qs({ ...criteriaParams(n), title: n.title || null });
  }

  async function renderReports({ main, params, alive }) {
    const st = searchState(params);
    st.title = (params.get("title") || "").slice(0, 200);
    document.title = t("reports_title") + " · Warta";
    if (reportBlobUrl) { URL.revokeObjectURL(reportBlobUrl); reportBlobUrl = null; }
    const crit = criteriaParams(st);
    const reportParams = { ...crit, lang, title: st.title || null };

    const qInput = h("input", { id: "r-q", name: "q", type: "search", value: st.q, placeholder: t("q_placeholder"), autocomplete: "off", spellcheck: "false" });
    const dateIn = (id, iso) => h("input", { id, type: "text", value: showDate(iso), placeholder: t("date_placeholder"), inputmode: "numeric",
      autocomplete: "off", maxlength: 10, size: 10, "aria-describedby": "r-date-error" });
    const fromIn = dateIn("r-from", st.from), toIn = dateIn("r-to", st.to);
    const titleIn = h("input", { id: "r-title", name: "title", type: "text", value: st.title, maxlength: 200, placeholder: t("report_title_placeholder") });
    const dateError = h("div", { id: "r-date-error", "aria-live": "assertive" });
    const field = (id, label, input) => h("div", { class: "field" }, h("label", { for: id }, label), input);
    const preset = (key, from, to) => h("button", { type: "button", class: "chip-btn", "aria-pressed": String(st.from === from && st.to === to),
      onclick: () => navigate(reportUrl(st, { from, to })) }, t(key));
    const form = h("form", { id: "report-form", class: "search-form", onsubmit: (ev) => {
      ev.preventDefault();
      dateError.replaceChildren();
      for (const el of [fromIn, toIn]) {
        el.removeAttribute("aria-invalid");
        if (parseDate(el.value) === null) {
          el.setAttribute("aria-invalid", "true");
          dateError.append(alertBox(t("date_invalid", { value: el.value.trim() })));
          el.focus();
          return;
        }
      }
      navigate(reportUrl(st, { q: qInput.value.trim(), from: parseDate(fromIn.value), to: parseDate(toIn.value), title: titleIn.value.trim() }));
    } },
      h("h1", {}, t("reports_title")),
      h("p", { class: "help" }, t("reports_intro")),
      h("div", { class: "grid" },
        field("r-q", t("q_label"), qInput),
        field("r-from", t("date_from") + " (" + t("date_placeholder") + ")", fromIn),
        field("r-to", t("date_to") + " (" + t("date_placeholder") + ")", toIn),
        field("r-title", t("report_title_label"), titleIn)),
      h("div", { class: "presets", role: "group", "aria-label": t("presets") },
        preset("preset_yesterday", jakartaDate(-1), jakartaDate(-1)), preset("preset_today", jakartaDate(0), jakartaDate(0)),
        preset("preset_7", jakartaDate(-6), jakartaDate(0)), preset("preset_30", jakartaDate(-29), jakartaDate(0))),
      dateError,
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary", id: "report-submit" }, t("report_submit")),
        h("a", { href: searchUrl({ ...st, cursor: "", page: 1 }), id: "report-edit-filters" }, t("report_edit_filters"))));

    const openLink = h("a", { class: "button", id: "report-open", target: "_blank", rel: "noopener", "aria-disabled": "true" }, t("report_open_html"));
    const pdfBtn = h("button", { type: "button", id: "report-pdf", onclick: async () => {
      pdfBtn.disabled = true;
      pdfBtn.setAttribute("aria-busy", "true");
      const old = pdfBtn.textContent;
      pdfBtn.textContent = t("report_pdf_busy");
      try {
        const resp = await api("/v1/reports", { ...reportParams, format: "pdf" }, { raw: true });
        const url = URL.createObjectURL(await resp.blob());
        const dl = h("a", { href: url, download: t("report_file") + "-" + jakartaDate(0) + ".pdf", hidden: true });
        document.body.append(dl);
        dl.click();
        dl.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
        announce(t("report_pdf_done"));
      } catch (e) {
        actions.append(alertBox(e));
      } finally {
        pdfBtn.disabled = false;
        pdfBtn.removeAttribute("aria-busy");
        pdfBtn.textContent = old;
      }
    } }, t("report_download_pdf"));
    const actions = h("div", { class: "actions report-actions" }, openLink, pdfBtn);
    const view = h("section", { class: "report-view", "aria-labelledby": "report-view-h" },
      h("h2", { id: "report-view-h", class: "visually-hidden" }, t("reports_title")), h("p", {}, t("loading")));
    main.replaceChildren(form, actions, view);

    let html;
    try {
      const resp = await api("/v1/reports", { ...reportParams, format: "html" }, { raw: true });
      html = await resp.text();
    } catch (e) {
      if (!alive()) return;
      if (e.status === 400 && e.position !== null) {
        view.replaceChildren(queryErrorBox(st.q, e));
        qInput.setAttribute("aria-invalid", "true");
        return;
      }
      view.replaceChildren(alertBox(e));
      return;
    }
    if (!alive()) return;
    reportBlobUrl = URL.createObjectURL(new Blob([html], { type: "text/html" }));
    openLink.href = reportBlobUrl;
    openLink.removeAttribute("aria-disabled");
    // No script runs in the frame (sandbox without allow-scripts); same origin only so that this
    // page can size the frame to the report; the report's links open in a new tab.
    const frame = h("iframe", { id: "report-frame", class: "report-frame", title: t("report_frame_label"),
      sandbox: "allow-same-origin allow-popups allow-popups-to-escape-sandbox", srcdoc: html });
    frame.addEventListener("load", () => {
      const doc = frame.contentDocument;
      if (doc && doc.documentElement) frame.height = String(doc.documentElement.scrollHeight + 24);
      for (const a of doc ? doc.querySelectorAll("a[href]") : []) { a.target = "_blank"; a.rel = "noopener noreferrer"; }
      if (alive()) frame.dataset.loaded = "true";
    });
    view.replaceChildren(frame);
    const n = /id="report-articles" data-value="(\d+)"/.exec(html);
    announce(t("report_ready", { n: n ? fmtNum(+n[1]) : "?" }));
  }

  async function renderArticle({ main, alive }, id) {
    let a;
    try { a = await api("/v1/articles/" + encodeURIComponent(id)); } catch (e) {
      if (e.status === 404) { main.replaceChildren(h("h1", {}, t("article_missing"))); return; }
      throw e;
    }
    if (!alive()) return;
    document.title = a.title + " · Warta";
    const ents = a.entities || [];
    const uniq = new Map();
    for (const e of ents) if (!uniq.has(e.type + e.canonical)) uniq.set(e.type + e.canonical, e);
    const storySection = h("section", { class: "card", "aria-labelledby": "story-h", id: "story" }, h("h2", { id: "story-h" }, t("same_story")), h("p", {}, t("loading")));
    main.replaceChildren(h("article", { class: "article" },
      h("p", {}, h("a", { href: "/search", onclick: (ev) => { if (history.length > 1 && document.referrer.startsWith(location.origin)) { ev.preventDefault(); history.back(); } } }, "« " + t("back_to_search"))),
      h("h1", {}, a.title),
      h("p", { class: "meta" },
        h("span", { class: "outlet" }, a.outlet || a.source), " · ",
        h("span", {}, t("published") + " "), h("time", { datetime: a.published_at || "" }, fmtTime(a.published_at)),
        a.authors && a.authors.length ? [" · ", t("authors") + ": " + a.authors.join(", ")] : null,
        a.regions && a.regions.length ? [" · ", a.regions.map((r) => r.name).join(", ")] : null),
      h("p", {}, h("a", { href: a.url, class: "button", target: "_blank", rel: "noopener noreferrer", id: "original-link" }, t("original_link") + " ↗"),
        store.role === "admin" ? [" ", h("button", { type: "button", class: "danger", id: "remove-article", onclick: () => removeArticleDialog(main, a) }, t("rm_action"))] : null),
      a.summary && a.summary.length ? h("section", { class: "card", "aria-labelledby": "sum-h" }, h("h2", { id: "sum-h" }, t("summary")), h("ul", {}, a.summary.map((x) => h("li", {}, x)))) : null,
      toneSection(a),
      uniq.size ? h("section", { "aria-labelledby": "ent-h" }, h("h2", { id: "ent-h" }, t("entities")),
        h("ul", { class: "chips" }, [...uniq.values()].map((e) => h("li", {}, h("a", { class: "chip ent-" + e.type, href: "/search" + qs({ entity: e.canonical }), title: t("ent_" + e.type) }, e.canonical))))) : null,
      h("section", { "aria-labelledby": "body-h" }, h("h2", { id: "body-h" }, t("full_text")), highlightedBody(a.body || a.text || "", ents)),
      storySection));
    if (a.story_id) {  // story_size is the size when this article joined: ask for the story now
      try {
        const data = await api("/v1/stories/" + encodeURIComponent(a.story_id));
        if (!alive()) return;
        storySection.replaceChildren(h("h2", { id: "story-h" }, t("same_story")), storyList(data.members, a.id));
      } catch (e) { storySection.replaceChildren(h("h2", { id: "story-h" }, t("same_story")), alertBox(e)); }
    } else {
      storySection.replaceChildren(h("h2", { id: "story-h" }, t("same_story")), h("p", { class: "help" }, t("no_story")));
    }
  }

  // Admin only: remove the article for good (DELETE /v1/articles/{id}), with a required reason.
  function removeArticleDialog(main, a) {
    const reason = h("input", { id: "remove-reason", type: "text", required: true, maxlength: 500, list: "remove-reasons", autocomplete: "off" });
    const err = h("div", { "aria-live": "assertive" });
    const dialog = h("dialog", { id: "remove-dialog", "aria-labelledby": "remove-h" },
      h("form", { method: "dialog", onsubmit: async (ev) => {
        ev.preventDefault();
        const why = reason.value.trim();
        if (!why) { reason.setCustomValidity(t("rm_reason_needed")); reason.reportValidity(); return; }
        err.replaceChildren();
        try {
          await api("/v1/articles/" + encodeURIComponent(a.id), {}, { method: "DELETE", body: { reason: why } });
        } catch (e) { err.replaceChildren(alertBox(e)); return; }
        dialog.close();
        dialog.remove();
        document.title = t("rm_removed_title") + " · Warta";
        main.replaceChildren(h("h1", {}, t("rm_removed_title")),
          h("div", { class: "notice ok", role: "status", id: "remove-done" }, t("rm_done", { title: a.title, reason: why })),
          h("p", {}, h("a", { href: "/search" }, "« " + t("back_to_search"))));
        announce(t("rm_removed_title"));
      } },
        h("h2", { id: "remove-h" }, t("rm_title")),
        h("p", {}, h("strong", {}, a.title)),
        h("p", { class: "help" }, t("rm_intro")),
        h("div", { class: "field" }, h("label", { for: "remove-reason" }, t("rm_reason")), reason,
          h("datalist", { id: "remove-reasons" }, ["rm_reason_takedown", "rm_reason_court", "rm_reason_test"].map((k) => h("option", { value: t(k) }))),
          h("p", { class: "help" }, t("rm_reason_help"))),
        err,
        h("div", { class: "actions" },
          h("button", { type: "submit", class: "danger", id: "remove-confirm" }, t("rm_confirm")),
          h("button", { type: "button", onclick: () => { dialog.close(); dialog.remove(); } }, t("rm_cancel")))));
    reason.addEventListener("input", () => reason.setCustomValidity(""));
    document.body.append(dialog);
    dialog.showModal();
    reason.focus();
  }

  // --- pickups (Bukti tayang) -------------------------------------------------------------------
  // Press releases the team tracks (/v1/pickups): a form to track one (analyst), the list with how
  // many outlets carried each, the partner scorecard over a period, and one release's pickups with
  // their delay, the share kept, the title change and the lead's diff. Pickups are computed on every
  // read, so an open release page refreshes itself while its window is open.

  async function pickupDownload(ev, path, params, filename) {
    ev.preventDefault();
    const a = ev.currentTarget;
    const old = a.textContent;
    a.textContent = t("exporting");
    a.setAttribute("aria-busy", "true");
    try {
      const blob = await (await api(path, params, { raw: true })).blob();
      const url = URL.createObjectURL(blob);
      const dl = h("a", { href: url, download: filename, hidden: true });
      document.body.append(dl);
      dl.click();
      dl.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      a.parentElement.append(alertBox(e));
    } finally {
      a.textContent = old;
      a.removeAttribute("aria-busy");
    }
  }
  // A pickup's delay to the minute ("2 jam 20 mnt", "3 hari 4 jam"): whole hours would show 2 h 15
  // and 2 h 20 alike, and round 1 h 31 up to 2 h, on a page that is the proof of it.
  function fmtDelay(sec) {
    if (sec === null || sec === undefined) return "–";
    const min = Math.round(Math.abs(sec) / 60), d = Math.floor(min / 1440), hr = Math.floor((min % 1440) / 60), mn = min % 60;
    const u = lang === "en" ? [" d", " h", " min"] : [" hari", " jam", " mnt"];
    const parts = d ? [d + u[0], hr ? hr + u[1] : null] : hr ? [hr + u[1], mn ? mn + u[2] : null] : [mn + u[2]];
    return (sec < 0 ? "−" : "") + parts.filter(Boolean).join(" ");
  }
  function fmtPct(x) { return Math.round((x || 0) * 100) + "%"; }

  async function renderPickups(ctx, id) {
    if (id) return renderPickup(ctx, id);
    const { main, params, alive } = ctx;
    document.title = t("pk_title") + " · Warta";
    const from = parseDate(params.get("from") || "") || jakartaDate(-29);
    const to = parseDate(params.get("to") || "") || jakartaDate(0);
    const [releases, card] = await Promise.all([api("/v1/pickups"), api("/v1/pickups/scorecard", { from, to })]);
    if (!alive()) return;
    const field = (fid, label, input, help) => h("div", { class: "field" }, h("label", { for: fid }, label), input,
      help ? h("p", { class: "help", id: fid + "-help" }, help) : null);
    let form = h("p", { class: "notice hint", role: "status", id: "pickups-readonly" }, t("pk_readonly"));
    if (store.canManage) {
      const title = h("input", { id: "pk-title", type: "text", maxlength: 500 });
      const text = h("textarea", { id: "pk-text", rows: 8, maxlength: 50000, "aria-describedby": "pk-text-help" });
      const url = h("input", { id: "pk-url", type: "url", maxlength: 2000, "aria-describedby": "pk-url-help" });
      const date = h("input", { id: "pk-date", type: "text", inputmode: "numeric", placeholder: t("date_placeholder"), maxlength: 10, size: 10 });
      const time = h("input", { id: "pk-time", type: "text", inputmode: "numeric", placeholder: "09:00", maxlength: 5, size: 5 });
      const days = h("input", { id: "pk-days", type: "number", min: 1, max: 31, value: 7 });
      const err = h("div", { id: "pk-error", "aria-live": "assertive" });
      form = h("details", { class: "card", id: "new-pickup", open: releases.length ? null : true },
        h("summary", {}, h("h2", { class: "inline" }, t("pk_new"))),
        h("form", { onsubmit: async (ev) => {
          ev.preventDefault();
          err.replaceChildren();
          const body = { title: title.value.trim(), window_days: parseInt(days.value, 10) || 7 };
          if (text.value.trim()) body.text = text.value;
          if (url.value.trim()) body.url = url.value.trim();
          const d = parseDate(date.value), tm = (time.value.trim() || "09:00");
          if (d === null || (d && !/^\d{1,2}[:.]\d{2}$/.test(tm))) { err.append(alertBox(t("pk_bad_time"))); date.focus(); return; }
          if (d) body.released_at = d + "T" + tm.replace(".", ":").padStart(5, "0") + ":00+07:00";
          try {
            const made = await api("/v1/pickups", {}, { method: "POST", body });
            navigate("/pickups/" + encodeURIComponent(made.id));
          } catch (e) { err.append(alertBox(e)); }
        } },
          field("pk-title", t("pk_field_title"), title),
          field("pk-text", t("pk_field_text"), text, t("pk_text_help")),
          field("pk-url", t("pk_field_url"), url, t("pk_url_help")),
          h("div", { class: "grid" }, field("pk-date", t("pk_field_date"), date), field("pk-time", t("pk_field_time"), time),
            field("pk-days", t("pk_field_days"), days)),
          err,
          h("button", { type: "submit", class: "primary", id: "pk-submit" }, t("pk_track"))));
    }
    const rows = releases.map((r) => h("tr", { id: "release-" + r.id },
      h("td", { "data-label": t("pk_release") }, h("a", { href: "/pickups/" + encodeURIComponent(r.id) }, r.title || t("pk_untitled"))),
      h("td", { "data-label": t("pk_released") }, fmtTime(r.released_at)),
      h("td", { "data-label": t("pk_outlets"), class: "num" }, fmtNum(r.outlets)),
      h("td", { "data-label": t("pk_articles"), class: "num" }, fmtNum(r.pickup_count)),
      h("td", { "data-label": t("pk_status") }, h("span", { class: "badge " + (r.tracking ? "ok" : "muted") }, t(r.tracking ? "pk_tracking" : "pk_closed")))));
    const list = releases.length ? h("div", { class: "table-wrap" }, h("table", { class: "stack", id: "release-list" },
      h("thead", {}, h("tr", {}, ["pk_release", "pk_released", "pk_outlets", "pk_articles", "pk_status"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, rows))) : h("p", { class: "empty", id: "release-list" }, t("pk_none"));

    const fromIn = h("input", { id: "sc-from", type: "text", value: showDate(from), maxlength: 10, size: 10, inputmode: "numeric" });
    const toIn = h("input", { id: "sc-to", type: "text", value: showDate(to), maxlength: 10, size: 10, inputmode: "numeric" });
    const scErr = h("div", { id: "sc-error", "aria-live": "assertive" });
    const scForm = h("form", { class: "inline-form", onsubmit: (ev) => {
      ev.preventDefault();
      scErr.replaceChildren();
      const f = parseDate(fromIn.value), tt = parseDate(toIn.value);
      if (f === null || tt === null) { scErr.append(alertBox(t("date_invalid", { value: (f === null ? fromIn : toIn).value }))); return; }
      navigate("/pickups" + qs({ from: f, to: tt }));
    } }, h("div", { class: "grid" }, field("sc-from", t("date_from"), fromIn), field("sc-to", t("date_to"), toIn)),
      h("button", { type: "submit" }, t("pk_show")), scErr);
    const scRows = card.outlets.map((o) => h("tr", {},
      h("td", { "data-label": t("pk_outlet") }, o.outlet),
      h("td", { "data-label": t("pk_carried"), class: "num" }, t("pk_carried_n", { n: fmtNum(o.releases_carried), of: fmtNum(card.releases), p: fmtPct(o.carried_share) })),
      h("td", { "data-label": t("pk_articles"), class: "num" }, fmtNum(o.articles)),
      h("td", { "data-label": t("pk_median_delay"), class: "num" }, fmtDelay(o.median_delay_s)),
      h("td", { "data-label": t("pk_mean_kept"), class: "num" }, fmtPct(o.mean_kept))));
    const scorecard = h("section", { class: "card", id: "scorecard", "aria-labelledby": "sc-h" },
      h("h2", { id: "sc-h" }, t("pk_scorecard")), h("p", { class: "help" }, t("pk_scorecard_help", { n: fmtNum(card.releases) })), scForm,
      card.outlets.length ? h("div", { class: "table-wrap" }, h("table", { class: "stack", id: "scorecard-table" },
        h("thead", {}, h("tr", {}, ["pk_outlet", "pk_carried", "pk_articles", "pk_median_delay", "pk_mean_kept"].map((k) => h("th", { scope: "col" }, t(k))))),
        h("tbody", {}, scRows))) : h("p", { class: "empty" }, t("pk_scorecard_none")),
      h("p", {}, h("a", { class: "button", id: "scorecard-csv", href: "/v1/pickups/scorecard" + qs({ from, to, format: "csv" }),
        onclick: (ev) => pickupDownload(ev, "/v1/pickups/scorecard", { from, to, format: "csv" }, "skor-media-" + from + "-" + to + ".csv") }, t("export_csv"))));
    main.replaceChildren(h("h1", {}, t("pk_title")), h("p", { class: "help" }, t("pk_intro")), form,
      h("h2", {}, t("pk_list")), list, scorecard);
  }

  function leadDiff(parts) {
    const p = h("p", { class: "lead-diff" });
    parts.forEach((part, i) => {
      if (i) p.append(" ");
      p.append(part.op === "delete" ? h("del", { title: t("pk_removed") }, part.text)
        : part.op === "insert" ? h("ins", { title: t("pk_added") }, part.text) : document.createTextNode(part.text));
    });
    return p;
  }

  async function renderPickup({ main, alive }, id) {
    const path = "/v1/pickups/" + encodeURIComponent(id);
    const r = await api(path);
    if (!alive()) return;
    document.title = (r.title || t("pk_untitled")) + " · " + t("pk_title") + " · Warta";
    const body = h("div", { id: "pickup-body" });
    const fill = (rel) => {
      const rows = rel.pickups.map((p, i) => h("tr", { id: "pickup-" + p.article_id },
        h("td", { "data-label": t("pk_outlet") }, h("strong", {}, p.outlet || "–")),
        h("td", { "data-label": t("pk_article") }, p.url ? h("a", { href: p.url, rel: "noopener noreferrer", target: "_blank" }, p.title || p.url) : (p.title || "–"),
          p.title_changed ? [" ", h("span", { class: "badge warn title-changed" }, t("pk_title_changed"))] : null,
          h("details", { class: "lead" }, h("summary", {}, t("pk_lead", { p: fmtPct(p.lead_similarity) })), leadDiff(p.lead_diff))),
        h("td", { "data-label": t("pk_first_seen") }, fmtTime(p.first_seen)),
        h("td", { "data-label": t("pk_delay"), class: "num delay" }, fmtDelay(p.delay_s)),
        h("td", { "data-label": t("pk_kept"), class: "num kept" }, fmtPct(p.kept))));
      body.replaceChildren(
        h("p", { class: "count", id: "pickup-count", role: "status" }, t("pk_count", { n: fmtNum(rel.pickup_count), o: fmtNum(rel.outlets) })),
        rel.pickups.length ? h("div", { class: "table-wrap" }, h("table", { class: "stack", id: "pickup-table" },
          h("thead", {}, h("tr", {}, ["pk_outlet", "pk_article", "pk_first_seen", "pk_delay", "pk_kept"].map((k) => h("th", { scope: "col" }, t(k))))),
          h("tbody", {}, rows))) : h("p", { class: "empty" }, t(rel.tracking ? "pk_waiting" : "pk_no_pickups")));
    };
    fill(r);
    const name = "bukti-tayang-" + r.id;
    const actions = h("div", { class: "actions" },
      h("a", { class: "button", id: "pickup-csv", href: path + "/export?format=csv", onclick: (ev) => pickupDownload(ev, path + "/export", { format: "csv" }, name + ".csv") }, t("export_csv")),
      h("a", { class: "button", id: "pickup-pdf", href: path + "/export?format=pdf", onclick: (ev) => pickupDownload(ev, path + "/export", { format: "pdf", lang }, name + ".pdf") }, t("pk_pdf")),
      store.canManage ? h("button", { type: "button", id: "pickup-delete", onclick: async () => {
        if (!confirm(t("pk_delete_confirm"))) return;
        try { await api(path, {}, { method: "DELETE" }); navigate("/pickups"); } catch (e) { actions.append(alertBox(e)); }
      } }, t("pk_delete")) : null);
    main.replaceChildren(
      h("p", {}, h("a", { href: "/pickups" }, "← " + t("pk_title"))),
      h("h1", { id: "release-title" }, r.title || t("pk_untitled")),
      h("p", { class: "help" }, t("pk_window", { at: fmtTime(r.released_at), d: r.window_days, end: fmtTime(r.window_end) }), " ",
        h("span", { class: "badge " + (r.tracking ? "ok" : "muted") }, t(r.tracking ? "pk_tracking" : "pk_closed"))),
      actions, body,
      h("details", { class: "card" }, h("summary", {}, t("pk_release_text")), h("p", { class: "release-text" }, r.text)));
    if (r.tracking) {
      timers.push(setInterval(async () => {
        try { const fresh = await api(path); if (alive()) fill(fresh); } catch (e) { /* the next refresh tries again */ }
      }, 15000));
    }
  }

  // --- monitors ---------------------------------------------------------------------------------

  function queryFieldError(container, input, e) {
    container.replaceChildren(e.status === 400 && e.position !== null ? queryErrorBox(input.value, e) : alertBox(e));
    if (e.status === 400 && e.position !== null) { input.setAttribute("aria-invalid", "true"); input.focus(); input.setSelectionRange(e.position, e.position + 1); }
  }

  // The API refuses a webhook URL with a 422 whose detail names webhook_url and the reason
  // (type "webhook_refused.<reason>"); null for any other error.
  function webhookRefusal(e) {
    if (e.status !== 422 || !Array.isArray(e.body.detail)) return null;
    const d = e.body.detail.find((x) => (x.loc || []).includes("webhook_url"));
    if (!d) return null;
    const reason = String(d.type || "").startsWith("webhook_refused.") ? d.type.slice("webhook_refused.".length) : "invalid";
    return { reason, msg: d.msg };
  }

  // The scheduled digest of a monitor (schedule and channels; docs/pr-workflows.md#digests): off,
  // daily or weekly at a time in a time zone, to e-mail addresses and/or a chat webhook. value()
  // gives the request fields; showError() shows a 422 about them (true if it was one).
  const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
  function digestFields(idp, values) {
    const s = values.schedule || {}, c = values.channels || {};
    const opt = (v, cur, label) => h("option", { value: v, selected: v === cur ? true : null }, label);
    const freq = h("select", { id: idp + "-digest-frequency" }, ["off", "daily", "weekly"].map((v) => opt(v, s.frequency || "off", t("dg_" + v))));
    const time = h("input", { id: idp + "-digest-time", type: "time", value: s.time || "07:00" });
    const weekday = h("select", { id: idp + "-digest-weekday" }, WEEKDAYS.map((d) => opt(d, s.weekday || "monday", t("dg_day_" + d))));
    const tz = h("input", { id: idp + "-digest-timezone", type: "text", maxlength: 64, value: s.timezone || "Asia/Jakarta" });
    const language = h("select", { id: idp + "-digest-language" }, [opt("id", s.language || lang, "Bahasa Indonesia"), opt("en", s.language || lang, "English")]);
    const emails = h("textarea", { id: idp + "-digest-email", rows: 2, spellcheck: "false", placeholder: "humas@contoh.go.id" }, (c.email || []).join("\n"));
    const chat = h("input", { id: idp + "-digest-chat", type: "url", maxlength: 2048, value: c.chat_webhook_url || "", placeholder: "https://…" });
    const err = h("div", { "aria-live": "assertive" });
    const field = (input, key) => h("div", { class: "field" }, h("label", { for: input.id }, t(key)), input);
    const dayField = field(weekday, "dg_weekday");
    const details = h("div", { class: "digest-details" }, field(time, "dg_time"), dayField, field(tz, "dg_timezone"),
      field(language, "dg_language"), field(emails, "dg_email"), field(chat, "dg_chat"));
    const sync = () => { details.hidden = freq.value === "off"; dayField.hidden = freq.value !== "weekly"; };
    freq.addEventListener("change", sync);
    sync();
    const inputs = { schedule: freq, frequency: freq, time, weekday, timezone: tz, language, channels: emails, email: emails, chat_webhook_url: chat };
    return {
      el: h("fieldset", { class: "digest", id: idp + "-digest" }, h("legend", {}, t("dg_title")), field(freq, "dg_frequency"), details, err),
      value() {
        const email = emails.value.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);
        const channels = email.length || chat.value.trim() ? { email, chat_webhook_url: chat.value.trim() || null } : null;
        if (freq.value === "off") return { schedule: null, channels };
        return { schedule: { frequency: freq.value, time: time.value, timezone: tz.value.trim(), language: language.value,
          weekday: freq.value === "weekly" ? weekday.value : null }, channels };
      },
      showError(e) {
        err.replaceChildren();
        Object.values(inputs).forEach((x) => x.removeAttribute("aria-invalid"));
        if (!e || e.status !== 422 || !Array.isArray(e.body.detail)) return false;
        const d = e.body.detail.find((x) => (x.loc || []).includes("schedule") || (x.loc || []).includes("channels"));
        if (!d) return false;
        const type = String(d.type || ""), last = d.loc[d.loc.length - 1];
        const reason = type.startsWith("webhook_refused.") ? "wr_" + type.slice("webhook_refused.".length) : null;
        const msg = type === "value_error.digest_without_channel" ? t("dg_no_channel")
          : reason && I18N[lang][reason] !== undefined ? t(reason) : d.msg;
        const input = inputs[typeof last === "number" ? d.loc[d.loc.length - 2] : last] || freq;
        err.replaceChildren(h("div", { class: "notice error", role: "alert", id: idp + "-digest-error" }, h("p", {}, t("dg_invalid", { msg })),
          h("p", { class: "small" }, d.msg)));
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", idp + "-digest-error");
        input.focus();
        return true;
      },
    };
  }
  function digestLine(m) {
    const s = m.schedule, c = m.channels || {};
    if (!s) return h("p", { class: "help digest-line" }, t("dg_none"));
    const when = s.frequency === "weekly" ? t("dg_when_weekly", { day: t("dg_day_" + s.weekday), time: s.time, tz: s.timezone })
      : t("dg_when_daily", { time: s.time, tz: s.timezone });
    const to = [...(c.email || []), c.chat_webhook_url ? t("dg_chat_short") : null].filter(Boolean).join(", ");
    return h("p", { class: "help digest-line" }, t("dg_line", { when, to }));
  }

  // The spike alert of a monitor (docs/alerts.md#spike-alerts): off, or a window (hour, day) and a
  // sensitivity; sent to the monitor's webhook and its digest chat channel. value() gives the request field; showError() shows
  // a 422 about it (true if it was one), e.g. spike_needs_webhook.
  function spikeFields(idp, values) {
    const s = values.spike || {};
    const opt = (v, cur, label) => h("option", { value: v, selected: v === cur ? true : null }, label);
    const win = h("select", { id: idp + "-spike-window" }, ["off", "hour", "day"].map((v) => opt(v, s.window || "off", t("sp_" + v))));
    const level = h("select", { id: idp + "-spike-sensitivity" }, ["low", "medium", "high"].map((v) => opt(v, s.sensitivity || "medium", t("sp_" + v))));
    const err = h("div", { "aria-live": "assertive" });
    const field = (input, key) => h("div", { class: "field" }, h("label", { for: input.id }, t(key)), input);
    const levelField = field(level, "sp_sensitivity");
    const sync = () => { levelField.hidden = win.value === "off"; };
    win.addEventListener("change", sync);
    sync();
    return {
      el: h("fieldset", { class: "digest spike", id: idp + "-spike" }, h("legend", {}, t("sp_title")),
        h("p", { class: "help" }, t("sp_help")), field(win, "sp_window"), levelField, err),
      value() { return { spike: win.value === "off" ? null : { window: win.value, sensitivity: level.value } }; },
      showError(e) {
        err.replaceChildren();
        win.removeAttribute("aria-invalid");
        if (!e || e.status !== 422 || !Array.isArray(e.body.detail)) return false;
        const d = e.body.detail.find((x) => (x.loc || []).includes("spike"));
        if (!d) return false;
        const msg = d.type === "spike_needs_webhook" ? t("sp_needs_webhook") : d.msg;
        err.replaceChildren(h("div", { class: "notice error", role: "alert", id: idp + "-spike-error" }, h("p", {}, t("sp_invalid", { msg })),
          h("p", { class: "small" }, d.msg)));
        win.setAttribute("aria-invalid", "true");
        win.setAttribute("aria-describedby", idp + "-spike-error");
        win.focus();
        return true;
      },
    };
  }
  function spikeLine(m) {
    if (!m.spike) return h("p", { class: "help spike-line" }, t("sp_none"));
    const to = [m.webhook_url ? "webhook" : null, m.channels && m.channels.chat_webhook_url ? "chat" : null].filter(Boolean).join(", ");
    return h("p", { class: "help spike-line" }, t("sp_line", { window: t("sp_per_" + m.spike.window), level: t("sp_" + m.spike.sensitivity), to: to || "–" }));
  }

  function monitorForm(idp, values, submitLabel, onSubmit, onCancel) {
    const name = h("input", { id: idp + "-name", type: "text", required: true, maxlength: 200, value: values.name || "" });
    const query = h("textarea", { id: idp + "-query", required: true, maxlength: 2000, rows: 2, spellcheck: "false" }, values.query || "");
    const hook = h("input", { id: idp + "-webhook", type: "url", maxlength: 2048, value: values.webhook_url || "", placeholder: "https://…" });
    const err = h("div", { "aria-live": "assertive" });
    const digest = digestFields(idp, values);
    const spike = spikeFields(idp, values);
    const form = h("form", { class: "monitor-form", onsubmit: async (ev) => {
      ev.preventDefault();
      err.replaceChildren();
      hook.removeAttribute("aria-invalid");
      digest.showError(null);
      spike.showError(null);
      try { await onSubmit({ name: name.value.trim(), query: query.value.trim(), webhook_url: hook.value.trim() || null, ...digest.value(), ...spike.value() }); }
      catch (e) {
        if (digest.showError(e) || spike.showError(e)) return;
        const refusal = webhookRefusal(e);
        if (!refusal) { queryFieldError(err, query, e); return; }
        const text = I18N[lang]["wr_" + refusal.reason] !== undefined ? t("wr_" + refusal.reason) : refusal.msg;
        err.replaceChildren(h("div", { class: "notice error", role: "alert", id: idp + "-webhook-error" },
          h("p", {}, t("m_webhook_refused", { msg: text })), h("p", { class: "small" }, refusal.msg)));
        hook.setAttribute("aria-invalid", "true");
        hook.setAttribute("aria-describedby", idp + "-webhook-error");
        hook.focus();
      }
    } },
      h("div", { class: "field" }, h("label", { for: name.id }, t("m_name")), name),
      h("div", { class: "field" }, h("label", { for: query.id }, t("m_query")), query),
      h("div", { class: "field" }, h("label", { for: hook.id }, t("m_webhook")), hook),
      spike.el,
      digest.el,
      err,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, submitLabel),
        onCancel ? h("button", { type: "button", onclick: onCancel }, t("m_cancel")) : null));
    return form;
  }

  async function renderMonitors({ main, params, alive }) {
    document.title = t("monitors_title") + " · Warta";
    const list = await api("/v1/saved-searches");
    if (!alive()) return;
    const status = h("div", { id: "monitor-status" });
    const newQ = params.get("new_q");
    const create = !store.canManage ? h("p", { class: "notice hint", role: "status", id: "monitors-readonly" }, t("m_readonly")) :
      h("details", { class: "card", open: newQ || !list.length ? true : null, id: "new-monitor" },
      h("summary", {}, h("h2", { class: "inline" }, t("new_monitor"))),
      monitorForm("new", { name: params.get("new_name") || "", query: newQ || "" }, t("m_create"), async (body) => {
        const made = await api("/v1/saved-searches", {}, { method: "POST", body });
        history.replaceState(null, "", "/monitors");
        await route();
        flash(document.getElementById("main"), t("m_created", { name: made.name }));
      }));
    const cards = h("ul", { class: "monitors", id: "monitor-list" });
    main.replaceChildren(h("h1", {}, t("monitors_title")), h("p", { class: "help" }, t("monitors_intro")), status, create,
      list.length ? cards : h("p", { class: "empty", id: "monitor-list" }, t("m_none")));
    const from = jakartaDate(-29);
    const refreshers = [];
    // ?monitor=<id> (the link in a digest): that monitor's card, scrolled to, with more of its matches.
    const target = params.get("monitor");
    for (const m of list) {
      const card = h("li", { class: "card monitor" + (m.id === target ? " target" : ""), id: "monitor-" + m.id });
      cards.append(card);
      refreshers.push(fillMonitor(card, m, from, alive, m.id === target ? 50 : 5));
    }
    await Promise.all(refreshers.map((r) => r.first));
    if (newQ && store.canManage) document.getElementById("new-name").focus();
    const targetCard = target && document.getElementById("monitor-" + target);
    if (targetCard) targetCard.scrollIntoView({ block: "start" });
    else if (target) status.replaceChildren(alertBox(t("m_target_missing")));
    timers.push(setInterval(async () => {
      refreshers.forEach((r) => r.refresh());
      try {  // one request for the delivery and query states of every monitor
        const fresh = new Map((await api("/v1/saved-searches")).map((x) => [x.id, x]));
        if (alive()) refreshers.forEach((r) => fresh.has(r.id) && r.update(fresh.get(r.id)));
      } catch (e) { /* shown by the next page load; the matches refresh reports errors */ }
    }, 5000));
  }

  // The webhook's delivery state (delivery_status, consecutive_failures, last_delivery_*): a badge
  // for the heading, and a line with the webhook and, while it fails, why.
  const DELIVERY_FIELDS = ["webhook_url", "delivery_status", "consecutive_failures", "last_delivery_at", "last_delivery_error"];
  function deliveryBadge(m) {
    if (!m.webhook_url || !m.delivery_status) return null;
    const failing = m.delivery_status === "failing";
    return h("span", { class: "badge webhook-badge " + (failing ? "bad" : "ok"), title: fmtTime(m.last_delivery_at) },
      failing ? t("m_webhook_failing") : t("m_webhook_ok"));
  }
  function webhookLine(m) {
    if (!m.webhook_url) return [h("p", { class: "help webhook-line" }, t("m_no_webhook"))];
    const line = h("p", { class: "help webhook-line" }, "Webhook: " + m.webhook_url);
    if (m.delivery_status !== "failing") return [line];
    return [line, h("p", { class: "notice error webhook-reason" },
      t("m_webhook_failing_reason", { n: m.consecutive_failures || 1, at: fmtTime(m.last_delivery_at), err: m.last_delivery_error || "?" }))];
  }

  // The query's state (query_status, query_error, query_failed_at), written by the alerts consumer:
  // while Elasticsearch rejects the query, a badge next to the webhook's and why, under the query.
  const QUERY_FIELDS = ["query_status", "query_error", "query_failed_at"];
  function queryBadge(m) {
    if (m.query_status !== "failing") return null;
    return h("span", { class: "badge query-badge bad", title: fmtTime(m.query_failed_at) }, t("m_query_failing"));
  }
  function queryLine(m) {
    if (m.query_status !== "failing") return [];
    return [h("p", { class: "notice error query-reason" },
      t("m_query_failing_reason", { at: fmtTime(m.query_failed_at), err: m.query_error || "?" }))];
  }

  function fillMonitor(card, m, from, alive, matchCount = 5) {
    const badgeSlot = h("span", { class: "webhook-state", "aria-live": "polite" });
    const hookSlot = h("div", { class: "webhook-state" });
    const queryBadgeSlot = h("span", { class: "query-state", "aria-live": "polite" });
    const querySlot = h("div", { class: "query-state" });
    const showDelivery = () => { badgeSlot.replaceChildren(...[deliveryBadge(m)].filter(Boolean)); hookSlot.replaceChildren(...webhookLine(m)); };
    const showQuery = () => { queryBadgeSlot.replaceChildren(...[queryBadge(m)].filter(Boolean)); querySlot.replaceChildren(...queryLine(m)); };
    const matchesBox = h("div", { class: "matches", "aria-live": "polite" }, h("p", {}, t("loading")));
    const trend = h("div", { class: "trend" });
    const deliveries = h("details", { class: "deliveries" }, h("summary", {}, t("m_deliveries")), h("div", {}, t("loading")));
    deliveries.addEventListener("toggle", () => { if (deliveries.open) loadDeliveries(deliveries, m); });
    const viewCard = () => card.replaceChildren(
      h("div", { class: "monitor-head" },
        h("h2", {}, m.name, " ", h("span", { class: "badge " + (m.enabled ? "ok" : "muted") }, m.enabled ? t("m_enabled") : t("m_disabled")), " ", queryBadgeSlot, " ", badgeSlot),
        h("div", { class: "trend-wrap" }, h("span", { class: "help" }, t("m_trend")), trend)),
      h("p", {}, h("code", { class: "q" }, m.query)),
      querySlot,
      hookSlot,
      spikeLine(m),
      digestLine(m),
      h("h3", {}, t("m_matches")),
      matchesBox,
      deliveries,
      h("div", { class: "actions" },
        h("a", { class: "button", href: "/search" + qs({ q: m.query, sort: "newest" }) }, t("m_open_search")),
        !store.canManage ? null : [h("button", { type: "button", onclick: edit }, t("m_edit")),
        h("button", { type: "button", onclick: async () => {
          m = await api("/v1/saved-searches/" + m.id, {}, { method: "PATCH", body: { enabled: !m.enabled } }).catch((e) => { card.prepend(alertBox(e)); return m; });
          view();
        } }, m.enabled ? t("m_disable") : t("m_enable")),
        h("button", { type: "button", class: "danger", onclick: async () => {
          if (!confirm(t("m_delete_confirm", { name: m.name }))) return;
          try {
            await api("/v1/saved-searches/" + m.id, {}, { method: "DELETE" });
            const main = document.getElementById("main");
            card.remove();
            flash(main, t("m_deleted"));
          } catch (e) { card.prepend(alertBox(e)); }
        } }, t("m_delete"))]));
    function edit() {
      card.replaceChildren(h("h2", {}, m.name), monitorForm("edit-" + m.id, m, t("m_save"), async (body) => {
        m = await api("/v1/saved-searches/" + m.id, {}, { method: "PATCH", body });
        view();
        loadTrend();
        flash(card, t("m_saved"));
      }, () => view()));
      document.getElementById("edit-" + m.id + "-name").focus();
    }
    async function loadMatches() {
      try {
        const ms = await api("/v1/saved-searches/" + m.id + "/matches", { size: matchCount });
        if (!alive()) return;
        const key = ms.map((x) => x.article_id).join(",");
        if (matchesBox.dataset.key === key) return;
        if (matchesBox.dataset.key !== undefined) loadTrend();  // new matches: the trend moved too
        matchesBox.dataset.key = key;
        matchesBox.replaceChildren(ms.length ? h("ul", { class: "match-list" }, ms.map((x) => h("li", {},
          h("a", { href: "/article/" + encodeURIComponent(x.article_id) }, x.title || x.article_id), " ",
          h("span", { class: "meta" }, (x.outlet || x.source || "") + " · " + fmtTime(x.published_at || x.matched_at))))) : h("p", { class: "help" }, t("m_no_matches")));
      } catch (e) { if (alive()) matchesBox.replaceChildren(alertBox(e)); }
    }
    async function loadTrend() {
      try {
        const tl = await api("/v1/analytics/timeline", { q: m.query, from, interval: "day" });
        // The histogram only spans the days that have articles: pad it to the whole 30 days.
        const byDay = new Map(tl.buckets.map((b) => [b.key.slice(0, 10), b.count]));
        const days = [];
        for (let i = 29; i >= 0; i--) { const d = jakartaDate(-i); days.push({ key: d, count: byDay.get(d) || 0 }); }
        if (alive()) trend.replaceChildren(sparkline(days, t("m_trend")));
      } catch (e) { if (alive()) trend.replaceChildren(h("span", { class: "help" }, "–")); }
    }
    function view() { viewCard(); showDelivery(); showQuery(); }
    view();
    return {
      id: m.id,
      first: Promise.all([loadMatches(), loadTrend()]),
      refresh: () => { if (card.isConnected && !card.querySelector("form")) loadMatches(); },
      // A fresh copy of the monitor from the list: only the delivery and query states are taken
      // over, so an open edit form keeps what the user typed.
      update: (fresh) => {
        if (card.querySelector("form")) return;
        if (!DELIVERY_FIELDS.every((k) => fresh[k] === m[k])) {
          for (const k of DELIVERY_FIELDS) m[k] = fresh[k];
          showDelivery();
        }
        if (fresh.query === m.query && !QUERY_FIELDS.every((k) => fresh[k] === m[k])) {
          for (const k of QUERY_FIELDS) m[k] = fresh[k];
          showQuery();
        }
      },
    };
  }

  async function loadDeliveries(box, m) {
    const body = box.querySelector("div");
    try {
      const ds = await api("/v1/saved-searches/" + m.id + "/deliveries", { size: 20 });
      if (!ds.length) { body.replaceChildren(h("p", { class: "help" }, t("m_no_deliveries"))); return; }
      body.replaceChildren(h("div", { class: "table-wrap" }, h("table", { class: "stack" },
        h("thead", {}, h("tr", {}, ["d_time", "d_status", "d_attempts", "d_articles", "d_last"].map((k) => h("th", { scope: "col" }, t(k))))),
        h("tbody", {}, ds.map((d) => {
          const last = d.log && d.log.length ? d.log[d.log.length - 1] : null;
          const lastText = last ? [last.status_code, last.error].filter(Boolean).join(" ") || JSON.stringify(last) : "–";
          return h("tr", {},
            h("td", { "data-label": t("d_time") }, fmtTime(d.delivered_at || d.created_at)),
            h("td", { "data-label": t("d_status") }, h("span", { class: "badge " + (d.status === "delivered" ? "ok" : d.status === "failed" ? "bad" : "warn") },
              I18N[lang]["ds_" + d.status] !== undefined ? t("ds_" + d.status) : d.status)),
            h("td", { "data-label": t("d_attempts") }, d.attempts),
            h("td", { "data-label": t("d_articles") }, d.article_ids.length),
            h("td", { "data-label": t("d_last") }, lastText));
        })))));
    } catch (e) { body.replaceChildren(alertBox(e)); }
  }

  // --- sources ----------------------------------------------------------------------------------

  const INGEST = "/web/ingest/v1/sources";

  // The cause of the last failed crawl in the page's language: by its code (last_error_code, else
  // the "code: detail" prefix of last_error) as he_<code>, with the detail (a URL) after it.
  function crawlError(hl) {
    const text = hl.last_error || "";
    const prefix = /^([a-z0-9_]+): /.exec(text);
    const code = hl.last_error_code || (prefix && prefix[1]);
    if (code && I18N[lang]["he_" + code] !== undefined) {
      const detail = text.startsWith(code + ": ") ? text.slice(code.length + 2) : "";
      return t("he_" + code) + (detail ? " (" + detail + ")" : "");
    }
    return text || hl.last_status || "?";
  }
  // Why a source has its status: by the reason's code (hr_<code>), else the API's message; for a
  // health document without a reason, by the status (r_<status>).
  function healthReason(hl) {
    if (!hl) return "–";
    const vars = { n: hl.consecutive_failures, err: crawlError(hl), since: fmtTime(hl.last_new_article_at || hl.last_success_at),
      usual: hl.usual_interval_s ? t("r_usual", { d: fmtDuration(hl.usual_interval_s) }) : "",
      bsince: hl.blocked_since ? fmtTime(hl.blocked_since) : "?", pages: hl.blocked_pages };
    const code = hl.reason && hl.reason.code;
    if (code) return I18N[lang]["hr_" + code] !== undefined ? t("hr_" + code, vars) : hl.reason.message || code;
    switch (hl.status) {
      case "ok": return t("r_ok");
      case "silent": return t("r_silent", vars);
      case "failing": return t("r_failing", vars);
      case "never_crawled": return t("r_never");
      case "disabled": return t("r_disabled");
      default: return hl.last_error || "";
    }
  }

  // A source's backfill: its progress, and "Backfill sejak…" (a date) or cancel.
  function backfillCell(src, bf, status) {
    const base = INGEST + "/" + encodeURIComponent(src.id) + "/backfill";
    const active = bf && (bf.state === "queued" || bf.state === "running");
    const progress = bf ? h("div", { class: "help backfill-progress" },
      t("bf_progress", { state: t("bf_" + bf.state), since: bf.since, pages: fmtNum(bf.pages_walked), published: fmtNum(bf.published),
        seen: fmtNum(bf.skipped_seen), oldest: bf.oldest_reached ? fmtTime(bf.oldest_reached) : "–" }),
      bf.limited ? h("div", {}, t("bf_limited")) : null, bf.error && bf.state === "failed" ? h("div", {}, bf.error) : null) : null;
    if (active) {
      return h("div", { class: "backfill" }, progress, h("button", { type: "button", class: "backfill-cancel", onclick: async () => {
        try { await api(base, {}, { method: "DELETE" }); await route(); } catch (e) { status.replaceChildren(alertBox(e)); }
      } }, t("bf_cancel")));
    }
    if (!src.enabled) return progress;
    const since = h("input", { type: "date", class: "backfill-since", "aria-label": t("bf_since_label", { id: src.id }), required: true,
      max: new Date().toISOString().slice(0, 10) });
    return h("div", { class: "backfill" }, progress, h("form", { class: "inline", onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await api(base, { since: since.value }, { method: "POST" });
        await route();
        flash(document.getElementById("source-status"), t("bf_started", { id: src.id, since: since.value }));
      } catch (e) { status.replaceChildren(alertBox(e)); }
    } }, since, h("button", { type: "submit", class: "backfill-start" }, t("bf_start"))));
  }

  async function renderSources({ main, alive }) {
    document.title = t("sources_title") + " · Warta";
    const { sources } = await api(INGEST);
    if (!alive()) return;
    // Health, with the articles the crawler collected per day (last 7 days, by collection time).
    const healths = await Promise.all(sources.map((src) => api(INGEST + "/" + encodeURIComponent(src.id) + "/health").catch(() => null)));
    // The latest backfill of each source (404: never backfilled).
    const backfills = await Promise.all(sources.map((src) => api(INGEST + "/" + encodeURIComponent(src.id) + "/backfill").catch(() => null)));
    if (!alive()) return;
    const status = h("div", { id: "source-status", "aria-live": "polite" });
    const rows = sources.map((src, i) => {
      const hl = healths[i];
      const st = hl ? hl.status : "unknown";
      const week = hl && hl.articles_by_day ? hl.articles_by_day.reduce((n, d) => n + d.articles, 0) : null;
      return h("tr", { id: "source-" + src.id },
        h("td", { "data-label": t("s_source") }, h("strong", {}, src.name), h("br", {}), h("span", { class: "help" }, src.id), h("br", {}),
          h("a", { href: src.url, target: "_blank", rel: "noopener noreferrer", class: "small url" }, src.url)),
        h("td", { "data-label": t("s_type") }, t("type_" + src.type)),
        h("td", { "data-label": t("s_last") }, hl && hl.last_crawl_at ? fmtTime(hl.last_crawl_at) : t("s_never")),
        h("td", { "data-label": t("s_rate"), class: "num rate", title: week === null ? null : hl.articles_by_day.map((d) => d.day.slice(5) + ": " + d.articles).join(" · ") },
          week === null ? "–" : hl.articles_per_day.toLocaleString(lang === "en" ? "en-GB" : "id-ID", { maximumFractionDigits: 1 }),
          week === null ? null : h("div", { class: "help" }, t("s_week", { n: fmtNum(week) }))),
        h("td", { "data-label": t("s_health") }, h("span", { class: "badge health-" + st }, I18N[lang]["h_" + st] !== undefined ? t("h_" + st) : st), h("div", { class: "reason" }, healthReason(hl))),
        h("td", { "data-label": t("s_actions") }, h("div", { class: "actions" },
          src.enabled ? h("button", { type: "button", class: "crawl", onclick: async (ev) => {
            const b = ev.currentTarget;
            b.disabled = true;
            try {
              await api(INGEST + "/" + encodeURIComponent(src.id) + "/crawl", {}, { method: "POST" });
              flash(status, t("s_crawl_done", { id: src.id }));
            } catch (e) { status.replaceChildren(alertBox(e)); }
            b.disabled = false;
          } }, t("s_crawl")) : null,
          h("button", { type: "button", class: src.enabled ? "danger" : null, onclick: async () => {
            try {
              await api(INGEST + "/" + encodeURIComponent(src.id) + (src.enabled ? "/disable" : "/enable"), {}, { method: "POST" });
              await route();
            } catch (e) { status.replaceChildren(alertBox(e)); }
          } }, src.enabled ? t("s_disable") : t("s_enable"))),
          backfillCell(src, backfills[i], status)));
    });
    const f = (id, label, input) => h("div", { class: "field" }, h("label", { for: id }, label), input);
    const inputs = {
      name: h("input", { id: "s-name", type: "text", required: true, maxlength: 200 }),
      id: h("input", { id: "s-id", type: "text", pattern: "[a-z0-9][a-z0-9_\\-]{1,63}", maxlength: 64 }),
      type: h("select", { id: "s-type" }, ["rss", "sitemap", "wordpress", "listing"].map((x) => h("option", { value: x }, t("type_" + x)))),
      url: h("input", { id: "s-url", type: "url", required: true, placeholder: "https://…" }),
      outlet: h("input", { id: "s-outlet", type: "text", maxlength: 200 }),
      region: h("input", { id: "s-region", type: "text", maxlength: 100 }),
      language: h("input", { id: "s-language", type: "text", value: "id", pattern: "[a-z]{2,3}", maxlength: 3 }),
    };
    const skipCheck = h("input", { id: "s-skip-check", type: "checkbox" });
    // What the URL check found, by its code (sc_<code>, else the crawl cause he_<code>), else the API's words.
    const checkText = (c) => {
      const key = ["sc_", "he_"].map((p) => p + c.code).find((k) => I18N[lang][k] !== undefined);
      return key ? t(key, { found: c.found ? t("type_" + c.found) : "" }) : c.message;
    };
    const addErr = h("div", { "aria-live": "assertive" });
    const addForm = h("details", { class: "card", id: "add-source" }, h("summary", {}, h("h2", { class: "inline" }, t("s_add"))),
      h("form", { onsubmit: async (ev) => {
        ev.preventDefault();
        addErr.replaceChildren();
        const body = {};
        for (const [k, el] of Object.entries(inputs)) if (el.value.trim()) body[k] = el.value.trim();
        try {
          const made = await api(INGEST, skipCheck.checked ? { check: "false" } : {}, { method: "POST", body });
          await route();
          flash(document.getElementById("source-status"), t("s_added", { id: made.id }));
        } catch (e) {
          if (e.code === "url_check_failed" && e.body.check) e.params = { ...e.params, detail: checkText(e.body.check) };
          addErr.replaceChildren(alertBox(e));
        }
      } },
        h("div", { class: "grid" }, f("s-name", t("s_name"), inputs.name), f("s-id", t("s_id"), inputs.id), f("s-type", t("s_type"), inputs.type),
          f("s-url", t("s_url"), inputs.url), f("s-outlet", t("s_outlet"), inputs.outlet), f("s-region", t("s_region"), inputs.region),
          f("s-language", t("s_language"), inputs.language)),
        h("div", { class: "field check" }, skipCheck, h("label", { for: "s-skip-check" }, t("s_skip_check"))),
        addErr,
        h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("s_add")))));
    main.replaceChildren(h("h1", {}, t("sources_title")), h("p", { class: "help" }, t("sources_intro")), status, addForm,
      sources.length ? h("div", { class: "table-wrap" }, h("table", { class: "stack sources", id: "sources-table" },
        h("caption", { class: "visually-hidden" }, t("sources_title")),
        h("thead", {}, h("tr", {}, ["s_source", "s_type", "s_last", "s_rate", "s_health", "s_actions"].map((k) => h("th", { scope: "col" }, t(k))))),
        h("tbody", {}, rows))) : h("p", { class: "empty" }, t("s_none")));
  }

  route();
})();
