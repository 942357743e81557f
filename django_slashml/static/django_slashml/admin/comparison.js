/* The comparison page: a click on a word (or a disagreement) plays the audio from its start. */
"use strict";
document.addEventListener("click", function (event) {
  var target = event.target.closest("[data-start]");
  var audio = document.querySelector(".slashml-compare-audio");
  if (!target || !audio || !target.closest(".slashml-compare")) return;
  audio.currentTime = Number(target.dataset.start) / 1000;
  var playing = audio.play();
  if (playing && playing.catch) playing.catch(function () {});
  document.querySelectorAll(".slashml-compare .playing").forEach(function (el) { el.classList.remove("playing"); });
  target.classList.add("playing");
});
