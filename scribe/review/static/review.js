// Scribe review page. Served from this machine; no inline script (the page's CSP forbids it).
// Clicking a fact in the note selects its words in the dictation and plays the recording from there.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const audio = document.getElementById("recording");
  const dictation = document.getElementById("dictation");
  const original = dictation && dictation.tagName === "PRE" ? dictation.textContent : null;

  function highlight(start, end) {
    if (!dictation || Number.isNaN(start) || Number.isNaN(end)) return;
    if (dictation.tagName === "TEXTAREA") {
      dictation.focus({ preventScroll: true });
      dictation.setSelectionRange(start, end);
      const ratio = start / Math.max(1, dictation.value.length);
      dictation.scrollTop = Math.max(0, ratio * dictation.scrollHeight - dictation.clientHeight / 3);
      return;
    }
    // read-only dictation: rebuild it as text nodes around one <mark> (no HTML parsing)
    dictation.textContent = "";
    const mark = document.createElement("mark");
    mark.textContent = original.slice(start, end);
    dictation.append(document.createTextNode(original.slice(0, start)), mark,
                     document.createTextNode(original.slice(end)));
    mark.scrollIntoView({ block: "center", behavior: "smooth" });
  }

  function show(el) {
    highlight(parseInt(el.dataset.start, 10), parseInt(el.dataset.end, 10));
    document.querySelectorAll(".ev.playing").forEach((x) => x.classList.remove("playing"));
    el.classList.add("playing");
    if (audio && el.dataset.audioStart !== undefined) {
      const seconds = parseFloat(el.dataset.audioStart);
      if (!Number.isNaN(seconds)) {
        audio.currentTime = seconds;
        audio.dataset.seekedTo = String(seconds);
        audio.play().catch(() => {});  // autoplay may be refused; the position is set either way
      }
    }
  }

  document.querySelectorAll(".ev").forEach((el) => {
    el.tabIndex = 0;
    el.setAttribute("role", "button");
    el.addEventListener("click", () => show(el));
    el.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); show(el); }
    });
  });

  // Warn before leaving with unsaved edits of the dictation.
  const form = document.getElementById("edit-form");
  if (form) {
    let dirty = false;
    form.addEventListener("input", () => { dirty = true; });
    form.addEventListener("submit", () => { dirty = false; });
    window.addEventListener("beforeunload", (event) => { if (dirty) { event.preventDefault(); } });
  }
});
