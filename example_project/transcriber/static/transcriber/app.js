// The example page: create a job through the REST API, follow it, then read along while it plays.
(function () {
  "use strict";
  const API = "/api/slashml/jobs/";
  const SEARCH = "/api/slashml/search/";
  // A job's stored audio, for transcripts opened from a search result: the app's owners' audio URL,
  // which serves the job's owner (and staff who may view jobs), not only staff as the admin's does.
  const STORED_AUDIO = (jobId) => "/api/slashml/transcripts/" + jobId + "/audio/";
  const $ = (id) => document.getElementById(id);
  let audioBlob = null;   // the picked or recorded audio, played back locally
  let recorder = null;

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function setAudio(blob, name) {
    audioBlob = blob;
    audioBlob.fileName = name;
    $("submit").disabled = !blob;
  }

  $("audio-file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    setAudio(file || null, file ? file.name : "");
    $("record-state").textContent = "";
  });

  $("record").addEventListener("click", async () => {
    if (recorder && recorder.state === "recording") { recorder.stop(); return; }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.ondataavailable = (e) => chunks.push(e.data);
      recorder.onstop = () => {
        stream.getTracks().forEach((track) => track.stop());
        const type = recorder.mimeType || "audio/webm";
        setAudio(new Blob(chunks, { type }), type.includes("ogg") ? "recording.ogg" : "recording.webm");
        $("record").classList.remove("recording");
        $("record").textContent = "● Record again";
        $("record-state").textContent = "Recorded.";
      };
      recorder.start();
      $("record").classList.add("recording");
      $("record").textContent = "■ Stop";
      $("record-state").textContent = "Recording…";
    } catch (error) {
      $("record-state").textContent = "Cannot record here: " + error.message;
    }
  });

  function showState(status) {
    $("status").textContent = "Status: " + status;
    $("status").dataset.status = status;
    const items = $("states");
    if (!items.lastElementChild || items.lastElementChild.textContent !== status) {
      items.querySelectorAll("li").forEach((li) => li.classList.remove("current"));
      const li = document.createElement("li");
      li.textContent = status;
      li.className = "current";
      items.appendChild(li);
    }
  }

  function describe(errors) {
    if (typeof errors !== "object" || errors === null) return String(errors);
    return Object.entries(errors).map(([field, messages]) => field + ": " + [].concat(messages).join(" ")).join("\n");
  }

  $("job-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!audioBlob) return;
    const form = new FormData();
    form.append("audio", audioBlob, audioBlob.fileName || "audio");
    form.append("service_provider", $("provider").value);
    $("submit").disabled = true;
    $("error").hidden = true;
    $("result").hidden = true;
    $("states").innerHTML = "";
    const response = await fetch(API, { method: "POST", body: form, headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" });
    const body = await response.json();
    $("progress").hidden = false;
    if (!response.ok) {
      $("error").textContent = describe(body);
      $("error").hidden = false;
      $("submit").disabled = false;
      return;
    }
    $("job-id").textContent = body.id;
    follow(body.id);
  });

  async function follow(jobId) {
    const response = await fetch(API + jobId + "/?words=false", { credentials: "same-origin" });
    const job = await response.json();
    showState(job.status);
    if (job.status === "COMPLETED") { return showTranscript(jobId); }
    if (job.status === "ERROR" || job.status === "CANCELLED") {
      $("error").textContent = job.error_message || job.status;
      $("error").hidden = false;
      $("submit").disabled = false;
      return;
    }
    setTimeout(() => follow(jobId), 1000);
  }

  async function showTranscript(jobId, startAt) {
    const job = await (await fetch(API + jobId + "/", { credentials: "same-origin" })).json();
    const container = $("transcript");
    const fragment = document.createDocumentFragment();
    const starts = [];
    (job.words || []).forEach((word, index) => {
      const span = document.createElement("span");
      span.textContent = word.text;
      span.dataset.start = word.start;
      span.dataset.end = word.end;
      span.dataset.index = index;
      if (word.confidence !== null && word.confidence < 0.6) span.classList.add("low");
      span.title = (word.start / 1000).toFixed(2) + "s";
      fragment.appendChild(span);
      fragment.appendChild(document.createTextNode(" "));
      starts.push(word.start);
    });
    if (!starts.length) fragment.appendChild(document.createTextNode(job.text));
    container.replaceChildren(fragment);
    ["txt", "srt", "vtt", "json"].forEach((fmt) => { $("dl-" + fmt).href = API + jobId + "/transcript." + fmt; });
    const player = $("player");
    player.src = audioBlob ? URL.createObjectURL(audioBlob) : STORED_AUDIO(jobId);
    if (startAt !== undefined) {
      // Opened at a second (?t=12.5, a search result): seek there and play from it.
      player.addEventListener("loadedmetadata", () => {
        player.currentTime = startAt;
        player.play().catch(() => {});
      }, { once: true });
    }
    container.onclick = (event) => {
      const span = event.target.closest("span[data-start]");
      if (!span) return;
      player.currentTime = Number(span.dataset.start) / 1000;
      player.play().catch(() => {});
    };
    let active = null;
    player.ontimeupdate = () => {
      // Binary search: the last word starting at or before the current time.
      const now = player.currentTime * 1000;
      let low = 0, high = starts.length - 1, found = -1;
      while (low <= high) {
        const mid = (low + high) >> 1;
        if (starts[mid] <= now) { found = mid; low = mid + 1; } else { high = mid - 1; }
      }
      const span = found >= 0 ? container.querySelector('span[data-index="' + found + '"]') : null;
      if (span !== active) {
        if (active) active.classList.remove("active");
        if (span) span.classList.add("active");
        active = span;
      }
    };
    $("result").hidden = false;
    $("submit").disabled = false;
  }

  // Search: every transcript you can see, each match a link that plays from where it was said.
  $("search-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const list = $("search-results");
    list.replaceChildren();
    $("search-error").hidden = true;
    const response = await fetch(SEARCH + "?q=" + encodeURIComponent($("search-q").value), { credentials: "same-origin" });
    const body = await response.json();
    if (!response.ok) {
      $("search-error").textContent = describe(body);
      $("search-error").hidden = false;
      return;
    }
    body.results.forEach((result) => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      const seconds = result.at / 1000;  // the matched word, inside the phrase start..end
      link.href = "?job=" + result.job + "&t=" + seconds;
      link.className = "search-hit";
      link.textContent = "▶ " + Math.floor(seconds / 60) + ":" + String(Math.floor(seconds % 60)).padStart(2, "0");
      const snippet = document.createElement("span");
      snippet.innerHTML = " " + result.snippet;  // the server escaped the text; only <mark> is markup
      item.append(link, snippet);
      list.appendChild(item);
    });
    if (!body.results.length) list.textContent = "No transcript says that.";
  });

  const opened = new URLSearchParams(window.location.search);
  if (opened.get("job")) {
    const at = parseFloat(opened.get("t"));
    $("job-id").textContent = opened.get("job");
    showTranscript(opened.get("job"), isFinite(at) && at >= 0 ? at : undefined);
  }
})();
