// Live updates: a new request or alert for my authority is announced without a reload.
// The pages work without this script; it only adds the notice.
(function () {
  "use strict";
  if (!window.EventSource) { return; }
  var box = document.getElementById("live");
  if (!box || !document.querySelector("form.signout")) { return; }
  var source = new EventSource("/api/v1/events/stream");
  source.addEventListener("imi", function (message) {
    var event;
    try { event = JSON.parse(message.data); } catch (e) { return; }
    var link = document.createElement("a");
    link.href = event.url || "/";
    link.textContent = event.text || event.type;
    link.setAttribute("data-testid", "live-notice");
    var line = document.createElement("p");
    line.appendChild(link);
    box.insertBefore(line, box.firstChild);
  });
})();
