// Keys of the review pages: j / k move to the next / previous item, Ctrl+Enter saves the form.
document.addEventListener("keydown", function (event) {
  var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName);
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    var save = document.getElementById("save");
    if (save) { event.preventDefault(); save.click(); }
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey) { return; }
  var link = { j: "next", k: "previous" }[event.key];
  var target = link && document.getElementById(link);
  if (target) { window.location.href = target.href; }
});
document.documentElement.dataset.reviewScript = "ready";
