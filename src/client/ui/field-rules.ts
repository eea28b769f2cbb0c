/*
 * Field errors in words. Route schemas refuse a field with Ajv's wording ("body/course_title must
 * NOT have fewer than 1 characters"); people get a sentence instead, the same with JavaScript
 * (form-feedback.ts) and without (a form the server answers with its page again). Pure: the
 * server imports it too.
 */

/**
 * The schema rule a field broke (Ajv's wording, e.g. `must NOT have fewer than 1 characters`),
 * as a person would say it after the field's label: "Course title cannot be blank."
 */
export function describeRule(rule: string): string {
  if (rule.startsWith('must have required property')) return 'cannot be empty.';
  const length = /^must NOT have (fewer|more) than (\d+) characters$/.exec(rule);
  if (length?.[1] === 'fewer')
    return length[2] === '1' ? 'cannot be empty.' : `needs at least ${length[2]} characters.`;
  if (length?.[1] === 'more') return `can have at most ${length[2]} characters.`;
  if (rule === 'must match pattern "\\S"') return 'cannot be blank.';
  if (rule === 'must match format "email"') return 'must be an email address.';
  if (rule.startsWith('must match pattern')) return 'is not in the expected form.';
  return `${rule.replace(/^must NOT/, 'must not')}${rule.endsWith('.') ? '' : '.'}`;
}
