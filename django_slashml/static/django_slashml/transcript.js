/* django-slashml's interactive transcript (the admin's job page, owners' pages, {% slashml_transcript %}):
   click a word or press Enter on it to play from it, follow the spoken word, open at ?t=seconds.
   One delegated click listener and a binary search per frame keep 20,000 words responsive.
   No inline script anywhere: the words come from a json_script element, so script-src 'self' holds. */
(function () {
  "use strict";

  function clock(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var m = Math.floor(s / 60);
    return m + ":" + String(s % 60).padStart(2, "0");
  }

  function setUp(viewer) {
    if (viewer.dataset.slashmlReady) return; // the script included twice on one page
    viewer.dataset.slashmlReady = "1";
    var source = document.getElementById(viewer.dataset.wordsId);
    var box = viewer.querySelector(".slashml-words");
    if (!source || !box) return;
    var words = JSON.parse(source.textContent);
    var audio = viewer.querySelector("audio");
    var threshold = parseFloat(viewer.dataset.lowConfidence);
    var starts = new Float64Array(words.length);
    var spans = new Array(words.length);
    var fragment = document.createDocumentFragment();

    words.forEach(function (word, index) {
      var span = document.createElement("span");
      span.className = "slashml-word";
      span.textContent = word[0];
      span.dataset.index = index;
      var title = clock(word[1]) + "–" + clock(word[2]);
      if (word[3] !== null && word[3] !== undefined) {
        title += " · " + Math.round(word[3] * 100) + "%";
        if (word[3] < threshold) span.classList.add("slashml-low");
      }
      span.title = title;
      starts[index] = (word[1] || 0) / 1000;
      spans[index] = span;
      fragment.appendChild(span);
      fragment.appendChild(document.createTextNode(" "));
    });
    box.appendChild(fragment);
    if (!audio) return;
    box.classList.add("slashml-playable");

    var current = -1;

    function indexAt(seconds) {
      var low = 0, high = starts.length - 1, found = -1;
      while (low <= high) {
        var middle = (low + high) >> 1;
        if (starts[middle] <= seconds) { found = middle; low = middle + 1; } else { high = middle - 1; }
      }
      return found;
    }

    function keepVisible(span) {
      var top = span.offsetTop - box.offsetTop;
      if (top < box.scrollTop || top > box.scrollTop + box.clientHeight - span.offsetHeight) {
        box.scrollTop = Math.max(0, top - box.clientHeight / 3);
      }
    }

    function highlight(index, follow) {
      if (index === current) return;
      if (current >= 0) spans[current].classList.remove("slashml-current");
      current = index;
      if (index >= 0) {
        spans[index].classList.add("slashml-current");
        if (follow) keepVisible(spans[index]);
      }
    }

    function follow() {
      highlight(indexAt(audio.currentTime), true);
      if (!audio.paused && !audio.ended) window.requestAnimationFrame(follow);
    }

    function playFrom(index) {
      audio.currentTime = starts[index];
      highlight(index, false);
      var playing = audio.play();
      if (playing && playing.catch) playing.catch(function () {});
    }

    box.addEventListener("click", function (event) {
      var span = event.target.closest(".slashml-word");
      if (!span || !box.contains(span)) return;
      var index = Number(span.dataset.index);
      choose(index);
      playFrom(index);
    });

    // The keyboard: the words box takes the focus once; the arrow keys move a marker over the
    // words (announced through aria-activedescendant), Enter or Space plays from it.
    var active = -1;
    var activeId = viewer.dataset.wordsId + "-active";
    function choose(index) {
      index = Math.max(0, Math.min(spans.length - 1, index));
      if (active >= 0) { spans[active].classList.remove("slashml-active"); spans[active].removeAttribute("id"); }
      active = index;
      spans[index].classList.add("slashml-active");
      spans[index].id = activeId;
      box.setAttribute("aria-activedescendant", activeId);
      keepVisible(spans[index]);
    }
    var steps = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 10, ArrowUp: -10, PageDown: 100, PageUp: -100 };
    box.addEventListener("keydown", function (event) {
      if (!spans.length || event.altKey || event.ctrlKey || event.metaKey) return;
      var from = active >= 0 ? active : Math.max(current, 0);
      if (event.key in steps) {
        choose(active < 0 ? from : from + steps[event.key]);
      } else if (event.key === "Home") {
        choose(0);
      } else if (event.key === "End") {
        choose(spans.length - 1);
      } else if (event.key === "Enter" || event.key === " ") {
        if (active < 0) choose(from);
        playFrom(active);
      } else {
        return;
      }
      event.preventDefault();
    });
    audio.addEventListener("play", function () { window.requestAnimationFrame(follow); });
    audio.addEventListener("seeked", function () { highlight(indexAt(audio.currentTime), true); });

    // ?t=12.5 (a search result's link): open at that second and play from it.
    var at = parseFloat(new URLSearchParams(window.location.search).get("t"));
    if (isFinite(at) && at >= 0) {
      highlight(indexAt(at), true);
      var seek = function () {
        audio.currentTime = at;
        var playing = audio.play();
        if (playing && playing.catch) playing.catch(function () {});
      };
      if (audio.readyState >= 1) { seek(); } else {
        audio.addEventListener("loadedmetadata", seek, { once: true });
        if (audio.preload === "none") audio.load();
      }
    }
  }

  function start() {
    document.querySelectorAll(".slashml-viewer").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
