// What a rule editor does, written against the generated types alone (build/api.d.ts,
// from the spec by .ci/run): offer the fields of GET /api/v1/fields, build a ruleset body
// from the editor's choices, post it to POST /api/v1/rules/evaluate and show the
// rationale. It is compiled (tsc --noEmit), never run: a schema change that would break
// a frontend breaks CI.
import type { components, paths } from "../build/api";

type Schemas = components["schemas"];
type FieldOut = Schemas["FieldOut"];
type FieldList =
  paths["/api/v1/fields"]["get"]["responses"][200]["content"]["application/json"];
type RulesetBody = Schemas["RulesetBody"];
type Rule = Schemas["Rule"];
type Condition = Schemas["Condition"];
type ComparisonCondition = Schemas["ComparisonCondition"];
type WindowCondition = Schemas["WindowCondition"];
type EvaluateRequest =
  paths["/api/v1/rules/evaluate"]["post"]["requestBody"]["content"]["application/json"];
type EvaluateResult =
  paths["/api/v1/rules/evaluate"]["post"]["responses"][200]["content"]["application/json"];
type Rationale = Schemas["Rationale"];
type RuleValue = Schemas["RuleValue"];
type Problem = Schemas["Problem"];

/** A comparison on `field`, if its type allows `op`. */
function compare(
  field: FieldOut,
  op: ComparisonCondition["op"],
  value: Schemas["RuleScalar"],
): ComparisonCondition {
  if (!field.operators.includes(op)) {
    throw new Error(`${field.label} does not take ${op}`);
  }
  return { field: field.key, op, value };
}

function withinLastDays(field: FieldOut, days: number): WindowCondition {
  if (field.type !== "date") throw new Error(`${field.label} is not a date`);
  return { field: field.key, op: "within_last_days", value: days };
}

function fieldByKey(fields: FieldList, key: string): FieldOut {
  const found = fields.items.find((f) => f.key === key);
  if (found === undefined) throw new Error(`no field ${key}`);
  return found;
}

/** "近12个月交易金额 ≥ 50万 且 近6个月互动 ≥ 10, 或最近 30 天下过单 → 核心客户". */
export function coreCustomers(fields: FieldList): RulesetBody {
  const amount = fieldByKey(fields, "order_amount_12m");
  const contacts = fieldByKey(fields, "interactions_6m");
  const lastOrder = fieldByKey(fields, "last_order_date");
  const when: Condition = {
    any: [
      {
        all: [
          // Money is a decimal string ("500000.00"); counts are integers.
          compare(amount, "gte", "500000.00"),
          compare(contacts, "gte", 10),
        ],
      },
      { not: { field: lastOrder.key, op: "is_null" } },
      withinLastDays(lastOrder, 30),
    ],
  };
  const core: Rule = {
    key: "core",
    name: "核心客户",
    category: "CORE",
    when,
    tags: ["重点维护"],
    next_action: null,
  };
  const byText: Rule = { key: "mid", category: "MID", when: "近12个月交易金额 >= 10万" };
  return { hit_policy: "first", default_category: "LOW", rules: [core, byText] };
}

function say(value: RuleValue): string {
  if (value === null) return "—";
  if (Array.isArray(value)) return value.map((v) => String(v)).join(", ");
  return String(value);
}

/** The lines an editor shows for a rationale. */
export function rationaleLines(rationale: Rationale): string[] {
  const lines = [rationale.text];
  for (const condition of rationale.conditions) {
    const mark = condition.passed ? "✓" : "✗";
    lines.push(
      `${mark} ${condition.label} ${condition.op} ${say(condition.threshold)}` +
        ` (${say(condition.actual)}) at ${condition.path.join(".")}`,
    );
  }
  for (const missed of rationale.why_not) {
    const rule = missed.rule.name ?? missed.rule.key;
    const gap = "gap" in missed ? ` gap ${say(missed.gap)}` : "";
    lines.push(`${rule}: ${missed.text}${gap}`);
  }
  return lines;
}

export async function evaluate(
  baseUrl: string,
  apiKey: string,
  fields: FieldList,
  values: EvaluateRequest["values"],
): Promise<string[]> {
  const body: EvaluateRequest = {
    ruleset: coreCustomers(fields),
    values,
    as_of: "2026-11-25",
  };
  const response = await fetch(`${baseUrl}/api/v1/rules/evaluate`, {
    method: "POST",
    headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    const problem = (await response.json()) as Problem;
    throw new Error(`${problem.title}: ${problem.detail ?? ""}`);
  }
  const result = (await response.json()) as EvaluateResult;
  const matched = result.rule === null ? "默认分类" : (result.rule.name ?? result.rule.key);
  return [`${result.category} (${matched})`, ...rationaleLines(result.rationale)];
}
