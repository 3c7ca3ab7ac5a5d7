"use strict";
(function () {
  const tbody = document.getElementById("messages");
  function cell(text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; }
  async function load() {
    const r = await fetch("/dev/mailbox.json", { cache: "no-store" });
    if (!r.ok) return;
    const msgs = await r.json();
    tbody.replaceChildren();
    for (const m of msgs) {
      const tr = document.createElement("tr");
      tr.append(cell(m.shown || m.time), cell(m.to), cell(m.subject));
      const td = cell("", "mono"); const pre = document.createElement("pre"); pre.textContent = m.body; pre.style.whiteSpace = "pre-wrap"; td.append(pre); tr.append(td);
      tbody.append(tr);
    }
  }
  document.getElementById("refresh").addEventListener("click", load);
  load(); setInterval(load, 3000);
})();
