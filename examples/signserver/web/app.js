"use strict";
// Host demo: an agency financial system that prepares PDFs, asks the
// signing service for an OTP, and completes the signed files.
(function () {
  const $ = (id) => document.getElementById(id);
  let session = null;     // current demo signing session id
  let lastResult = null;  // result of the last signing, for the next approval level
  let maxUpload = 0;      // the largest upload the demo signs, in bytes

  const messages = {
    authorization_failed: ["PIN atau OTP tidak sah. Sila cuba lagi.", "Wrong PIN or OTP. Please try again."],
    locked: ["PIN anda telah dikunci selepas terlalu banyak percubaan. Hubungi pentadbir.", "Your PIN is locked after too many attempts. Contact the administrator."],
    expired: ["OTP telah tamat tempoh. Mohon OTP baharu.", "The OTP has expired. Request a new one."],
    // Reasons (the X-Demo-Reason header) word a refusal more precisely than its code.
    otp_expired: ["OTP telah tamat tempoh. Mohon OTP baharu.", "The OTP has expired. Request a new one."],
    tries_exhausted: ["Terlalu banyak percubaan yang salah untuk OTP ini. Mohon OTP baharu.", "Too many wrong attempts for this OTP. Request a new one."],
    screen_expired: ["Skrin tandatangan telah tamat tempoh. Sila mula semula.", "The signing screen has expired. Please start again."],
    encrypted: ["PDF ini disulitkan (dilindungi kata laluan) dan tidak boleh ditandatangani. Buang penyulitan, kemudian muat naik semula.", "This PDF is encrypted (password-protected) and cannot be signed. Remove the encryption, then upload it again."],
    // upload_too_large: the server's wording, with the limit, from /demo/api/config (tooLargeWords).
    damaged: ["PDF ini rosak. Tandakan \u201cBaiki PDF yang rosak\u201d dan tandatangan semula: salinan yang dibaiki akan ditandatangani.", "This PDF is damaged. Tick \u201cRepair damaged PDF\u201d and sign again: a repaired copy is then signed."],
    owner_encrypted: ["PDF ini disulitkan dengan kebenaran sahaja (dibuka tanpa kata laluan). Tandakan \u201cBaiki PDF yang rosak\u201d dan tandatangan semula: salinan yang dinyahsulit akan ditandatangani.", "This PDF is encrypted with permissions only. Tick \u201cRepair damaged PDF\u201d and sign again: a decrypted copy is then signed."],
    unsupported: ["Dokumen ini tidak dapat ditandatangani.", "This document cannot be signed."],
    already_used: ["OTP ini telah digunakan. Mohon OTP baharu.", "This OTP was already used. Request a new one."],
    rate_limited: ["Terlalu banyak permintaan OTP. Cuba sebentar lagi.", "Too many OTP requests. Try again shortly."],
    delivery_failed: ["OTP tidak dapat dihantar.", "The OTP could not be delivered."],
    unavailable: ["Perkhidmatan tidak tersedia buat sementara. Cuba lagi.", "The service is temporarily unavailable. Try again."],
    invalid_input: ["Input tidak sah.", "Invalid input."],
    too_large: ["Fail terlalu besar.", "The file is too large."],
    forbidden: ["Tindakan tidak dibenarkan.", "Not allowed."],
    not_found: ["Tidak dijumpai.", "Not found."],
  };

  // Refusals whose English line is the server's detail, which says what is wrong.
  const ownWords = new Set(["damaged", "owner_encrypted", "encrypted"]);

  // Refusals after which the signer may request a new OTP on the same screen.
  const renewable = new Set(["otp_expired", "tries_exhausted", "already_used"]);

  function showError(problem) {
    const m = messages[problem && problem.reason] || messages[problem && problem.code];
    const onSign = !$("step-sign").classList.contains("hidden");
    $("btn-renew").classList.toggle("hidden", !(onSign && problem && (renewable.has(problem.reason) || renewable.has(problem.code))));
    const el = $("error");
    el.replaceChildren();
    const ms = document.createElement("p"); ms.textContent = m ? m[0] : "Permintaan tidak dapat diselesaikan.";
    const own = problem && problem.detail && ownWords.has(problem.reason);
    const en = document.createElement("p"); en.lang = "en"; en.textContent = m && !own ? m[1] : (problem && problem.detail) || "The request could not be completed.";
    el.append(ms, en);
    if (problem && problem.detail && m && !own && problem.detail !== m[1]) { const d = document.createElement("p"); d.className = "en"; d.textContent = problem.detail; el.append(d); }
    if (problem && (problem.code || problem.requestId)) {
      // The stable code and the request's reference, which the server's log holds with the details.
      const ref = document.createElement("p"); ref.className = "ref";
      ref.textContent = [problem.code, problem.requestId && "ruj./ref. " + problem.requestId].filter(Boolean).join(" · ");
      el.append(ref);
    }
    el.classList.remove("hidden");
    el.focus && el.setAttribute("tabindex", "-1");
  }
  function clearError() { $("error").classList.add("hidden"); }

  // api sends a JSON body (none: GET), or a File as the raw request body,
  // and returns the JSON answer; a refusal is thrown as its problem.
  async function api(path, body) {
    const raw = body instanceof Blob;
    const r = await fetch(path, {
      method: body ? "POST" : "GET",
      headers: body ? { "Content-Type": raw ? "application/pdf" : "application/json" } : {},
      body: body ? (raw ? body : JSON.stringify(body)) : undefined,
    });
    const ct = r.headers.get("Content-Type") || "";
    const data = ct.includes("json") ? await r.json() : null;
    if (!r.ok) {
      const problem = data || { code: "unavailable", detail: r.statusText };
      problem.reason = r.headers.get("X-Demo-Reason") || "";
      throw problem;
    }
    return data;
  }

  function show(step) {
    for (const s of ["step-choose", "step-sign", "step-result"]) $(s).classList.toggle("hidden", s !== step);
    const h = $(step).querySelector("h2"); if (h) { h.setAttribute("tabindex", "-1"); h.focus(); }
  }

  async function loadConfig() {
    const cfg = await api("/demo/api/config");
    maxUpload = cfg.maxUploadBytes || 0;
    if (cfg.tooLarge) messages.upload_too_large = cfg.tooLarge;
    const docs = $("docs"); docs.replaceChildren();
    cfg.docs.forEach((d, i) => {
      const id = "doc-" + d.id;
      const wrap = document.createElement("div");
      const cb = document.createElement("input"); cb.type = "checkbox"; cb.id = id; cb.value = d.id; cb.name = "doc"; cb.checked = i === 0;
      const lb = document.createElement("label"); lb.htmlFor = id; lb.textContent = d.title; lb.style.display = "inline"; lb.style.fontWeight = "normal";
      wrap.append(cb, document.createTextNode(" "), lb); docs.append(wrap);
    });
    const sel = $("signer"); sel.replaceChildren();
    for (const u of cfg.users) { const o = document.createElement("option"); o.value = u.id; o.textContent = u.name + " (" + u.id + ")"; sel.append(o); }
  }

  // sendUpload streams the chosen file, as it is, to the server, which
  // keeps it on disk, and returns the fields naming it in a prepare request.
  async function sendUpload() {
    const f = $("upload").files[0];
    if (!f) return {};
    // The server's refusal, in its words, before sending megabytes for nothing.
    if (maxUpload && f.size > maxUpload) throw { code: "too_large", reason: "upload_too_large" };
    const st = $("upload-status");
    st.textContent = "Memuat naik " + f.name + " (" + (f.size / 1e6).toFixed(1) + " MB)… / Uploading…";
    st.classList.remove("hidden");
    try {
      const u = await api("/demo/api/upload", f);
      return { uploadId: u.upload, uploadName: f.name };
    } finally { st.classList.add("hidden"); }
  }

  // repairNote lists what the repair of a document found and fixed.
  function repairNote(rep) {
    const box = document.createElement("div"); box.className = "repaired";
    const p = document.createElement("p");
    p.textContent = "Salinan yang dibaiki ditandatangani / A repaired copy is signed" + (rep.damage ? " — " + rep.damage : "") + ":";
    const ul = document.createElement("ul");
    for (const f of rep.fixes || []) { const li = document.createElement("li"); li.textContent = f; ul.append(li); }
    box.append(p, ul);
    return box;
  }

  function renderSigning(p) {
    session = p.session;
    const tb = $("sign-items"); tb.replaceChildren();
    for (const it of p.items) {
      const tr = document.createElement("tr");
      const a = document.createElement("td"); a.textContent = it.dataHeader;
      if (it.repaired) a.append(repairNote(it.repaired));
      const b = document.createElement("td"); b.className = "mono"; b.textContent = it.hash;
      tr.append(a, b); tb.append(tr);
    }
    $("vcode").textContent = p.challenge.verificationCode;
    $("sent-to").textContent = p.challenge.sentTo;
    $("channel").textContent = p.challenge.channel;
    // Times come formatted by the server (day first, 24-hour, with the zone), as in the OTP message.
    $("expires").textContent = p.shown.expires;
    $("expires").dateTime = p.challenge.expiresAt;
    const c = p.certificate || {};
    $("cert-start").textContent = p.shown.certStart || "";
    $("cert-end").textContent = p.shown.certEnd || "";
    $("btn-renew").classList.add("hidden");
    $("cert-subject").textContent = c.subject || "";
    $("cert-serial").textContent = c.serialNumber || "";
    $("pin").value = ""; $("otp").value = "";
    show("step-sign");
    $("pin").focus();
  }

  $("form-choose").addEventListener("submit", async (ev) => {
    ev.preventDefault(); clearError();
    $("btn-prepare").disabled = true;
    try {
      const docs = [...document.querySelectorAll("input[name=doc]:checked")].map((c) => c.value);
      const upload = await sendUpload();
      const p = await api("/demo/api/prepare", { signer: $("signer").value, level: $("level").value, docs, ...upload, repair: $("repair").checked });
      renderSigning(p);
    } catch (e) { showError(e); } finally { $("btn-prepare").disabled = false; }
  });

  $("form-sign").addEventListener("submit", async (ev) => {
    ev.preventDefault(); clearError();
    $("btn-confirm").disabled = true;
    try {
      const r = await api("/demo/api/sign", { session, pin: $("pin").value, otp: $("otp").value });
      $("pin").value = ""; $("otp").value = "";
      lastResult = r;
      renderResult(r);
    } catch (e) { $("otp").value = ""; showError(e); } finally { $("btn-confirm").disabled = false; }
  });

  function renderResult(r) {
    $("tx-id").textContent = r.transactionId;
    $("signed-at").textContent = r.signedAt;
    const n = r.items.filter((i) => i.status === "signed").length;
    $("result-msg").textContent = "Berjaya ditandatangani: " + n + " / " + r.items.length + " — Signed successfully: " + n + " of " + r.items.length;
    const tb = $("result-items"); tb.replaceChildren();
    for (const it of r.items) {
      const tr = document.createElement("tr");
      const name = document.createElement("td"); name.textContent = it.dataHeader;
      if (it.repaired) name.append(repairNote(it.repaired));
      const st = document.createElement("td"); const b = document.createElement("span"); b.className = "badge " + it.status; b.textContent = it.status; st.append(b);
      const ver = document.createElement("td");
      if (it.verification) {
        const v = document.createElement("span"); v.className = "badge " + it.verification.verdict; v.textContent = it.verification.verdict; ver.append(v);
        const ul = document.createElement("ul");
        for (const s of it.verification.signatures || []) { const li = document.createElement("li"); li.textContent = s; ul.append(li); }
        ver.append(ul);
      } else if (it.error) { ver.textContent = it.error; }
      const dl = document.createElement("td");
      if (it.download) { const a = document.createElement("a"); a.href = it.download; a.textContent = "PDF"; a.setAttribute("download", ""); dl.append(a); }
      if (it.repairedCopy) {
        const a = document.createElement("a"); a.href = it.repairedCopy; a.className = "repaired-copy"; a.setAttribute("download", "");
        a.textContent = "Salinan dibaiki (sebelum tandatangan) / Repaired copy (before signing)";
        dl.append(document.createElement("br"), a);
      }
      tr.append(name, st, ver, dl); tb.append(tr);
    }
    show("step-result");
  }

  $("btn-renew").addEventListener("click", async () => {
    $("btn-renew").disabled = true;
    try {
      const p = await api("/demo/api/renew", { session });
      clearError();
      renderSigning(p);
    } catch (e) { showError(e); } finally { $("btn-renew").disabled = false; }
  });
  $("btn-cancel").addEventListener("click", () => { session = null; clearError(); show("step-choose"); });
  $("btn-restart").addEventListener("click", () => { lastResult = null; show("step-choose"); });
  $("btn-next-level").addEventListener("click", async () => {
    clearError();
    if (!lastResult) return;
    const sel = $("signer"); sel.selectedIndex = (sel.selectedIndex + 1) % sel.options.length;
    const lv = $("level"); lv.selectedIndex = Math.min(lv.selectedIndex + 1, lv.options.length - 1);
    try {
      const p = await api("/demo/api/prepare", { signer: sel.value, level: lv.value, from: lastResult.transactionId });
      renderSigning(p);
    } catch (e) { showError(e); }
  });

  loadConfig().catch(showError);
})();
