// Sort #students by a column when its header is clicked (numbers by value, text alphabetically).
var students = document.getElementById("students");
students.querySelectorAll("th[data-sort]").forEach(function (header, column) {
  header.addEventListener("click", function () {
    var body = students.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var numeric = header.dataset.sort === "number";
    var descending = header.dataset.dir !== "desc";
    header.dataset.dir = descending ? "desc" : "asc";
    rows.sort(function (a, b) {
      var x = a.cells[column].textContent.trim(), y = b.cells[column].textContent.trim();
      var order = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y);
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
students.dataset.sortable = "ready";  // lets a test see that this script, and only this one, ran
