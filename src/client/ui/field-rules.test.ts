import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeRule } from './field-rules.ts';

test('schema rules read as sentences after the field label', () => {
  assert.equal(describeRule('must NOT have fewer than 1 characters'), 'cannot be empty.');
  assert.equal(describeRule("must have required property 'course_title'"), 'cannot be empty.');
  assert.equal(describeRule('must NOT have fewer than 8 characters'), 'needs at least 8 characters.');
  assert.equal(describeRule('must NOT have more than 200 characters'), 'can have at most 200 characters.');
  assert.equal(describeRule('must match pattern "\\S"'), 'cannot be blank.');
  assert.equal(describeRule('must match format "email"'), 'must be an email address.');
  assert.equal(describeRule('must match pattern "^[a-z]+$"'), 'is not in the expected form.');
});

test('a rule it does not know keeps its words, with a capital-free "must not" and a full stop', () => {
  assert.equal(describeRule('must NOT be valid'), 'must not be valid.');
  assert.equal(describeRule('must be integer'), 'must be integer.');
});
