/*
 * The C1 arithmetic rechecked as the officer types, each broken rule named
 * beside the form. Only a help: the page works without it, and the server
 * checks every rule again when the numbers are saved (results/arithmetic.py).
 * Rule names come from the page, in the officer's language; this file only
 * adds numbers and symbols.
 */
(function () {
  "use strict";

  // 1.234, 1,234 or 1 234: grouping, as the server's CountField accepts it.
  var GROUPED = /^\d{1,3}(?:[.,\s\u00a0\u202f]\d{3})+$/;

  function parse(input) {
    var text = input.value.trim();
    if (GROUPED.test(text)) {
      text = text.replace(/\D/g, "");
    }
    // Empty or not a number: the rules that need it wait.
    return /^-?\d+$/.test(text) ? parseInt(text, 10) : null;
  }

  function total(values) {
    var sum = 0;
    for (var i = 0; i < values.length; i++) {
      if (values[i] === null) {
        return null;
      }
      sum += values[i];
    }
    return sum;
  }

  function check(form) {
    var broken = {};
    var suspects = [];
    var all = function (selector) {
      return Array.prototype.slice.call(form.querySelectorAll(selector));
    };
    var named = function (name) {
      return form.querySelector('[data-name="' + name + '"]');
    };
    var value = function (input) {
      return input ? parse(input) : null;
    };
    var fail = function (rule, detail, inputs) {
      (broken[rule] = broken[rule] || []).push(detail);
      suspects = suspects.concat(inputs);
    };

    all("[data-part], [data-name]").forEach(function (input) {
      var number = value(input);
      if (number !== null && number < 0) {
        fail("no_negative", String(number), [input]);
      }
    });

    // Men + women = total on every voter row.
    var rows = {};
    all("[data-part]").forEach(function (input) {
      var key = input.dataset.list + "." + input.dataset.kind;
      rows[key] = rows[key] || { label: input.dataset.row };
      rows[key][input.dataset.part] = input;
    });
    Object.keys(rows).forEach(function (key) {
      var row = rows[key];
      var men = value(row.men);
      var women = value(row.women);
      var sum = value(row.total);
      if (men !== null && women !== null && sum !== null && men + women !== sum) {
        fail("men_plus_women", row.label + ": " + men + " + " + women + " ≠ " + sum, [row.men, row.women, row.total]);
      }
    });

    var candidates = all("[data-candidate]");
    var votesSum = total(candidates.map(value));
    var valid = value(named("valid_votes"));
    var invalid = value(named("invalid_votes"));
    var votes = value(named("total_votes"));
    var received = value(named("ballots_received"));
    var spoiled = value(named("ballots_spoiled"));
    var unused = value(named("ballots_unused"));
    var used = value(named("ballots_used"));
    // Voters of the voter lists; the row of voters with disabilities counts them again.
    var votedInputs = all('[data-kind="voted"][data-part="total"]:not([data-list="disabled"])');
    var registeredInputs = all('[data-kind="registered"][data-part="total"]:not([data-list="disabled"])');
    var voted = total(votedInputs.map(value));
    var registered = total(registeredInputs.map(value));

    if (candidates.length && votesSum !== null && valid !== null && votesSum !== valid) {
      fail("candidates_sum_to_valid", votesSum + " ≠ " + valid, candidates.concat([named("valid_votes")]));
    }
    if (valid !== null && invalid !== null && votes !== null && valid + invalid !== votes) {
      fail("valid_plus_invalid", valid + " + " + invalid + " ≠ " + votes, [
        named("valid_votes"),
        named("invalid_votes"),
        named("total_votes"),
      ]);
    }
    if (votes !== null && used !== null && votes !== used) {
      fail("total_equals_ballots_used", votes + " ≠ " + used, [named("total_votes"), named("ballots_used")]);
    }
    if (used !== null && voted !== null && used !== voted) {
      fail("ballots_used_equals_voters", used + " ≠ " + voted, votedInputs.concat([named("ballots_used")]));
    }
    if (received !== null && spoiled !== null && unused !== null && used !== null) {
      if (used + unused + spoiled !== received) {
        fail("ballots_balance", used + " + " + unused + " + " + spoiled + " ≠ " + received, [
          named("ballots_used"),
          named("ballots_unused"),
          named("ballots_spoiled"),
          named("ballots_received"),
        ]);
      }
    }
    if (voted !== null && registered !== null && voted > registered) {
      fail("turnout_at_most_registered", voted + " > " + registered, votedInputs.concat(registeredInputs));
    }
    return { broken: broken, suspects: suspects };
  }

  function show(form, panel) {
    var result = check(form);
    var any = false;
    Array.prototype.forEach.call(panel.querySelectorAll("[data-rule]"), function (item) {
      var details = result.broken[item.dataset.rule];
      item.hidden = !details;
      item.querySelector("[data-detail]").textContent = details ? details.join("; ") : "";
      any = any || Boolean(details);
    });
    panel.querySelector("[data-checks-ok]").hidden = any;
    panel.classList.toggle("c1-checks-broken", any);
    Array.prototype.forEach.call(form.querySelectorAll(".c1-suspect"), function (input) {
      input.classList.remove("c1-suspect");
    });
    result.suspects.forEach(function (input) {
      if (input) {
        input.classList.add("c1-suspect");
      }
    });
  }

  function start() {
    var form = document.getElementById("c1-form");
    var panel = document.getElementById("c1-checks");
    if (!form || !panel) {
      return;
    }
    panel.hidden = false;
    form.addEventListener("input", function () {
      show(form, panel);
    });
    show(form, panel);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
