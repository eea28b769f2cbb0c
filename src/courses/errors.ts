/** The user already has as many courses as one account may (COURSES_MAX_PER_USER). */
export class CourseLimitError extends Error {
  readonly statusCode = 409;
  readonly code = 'COURSE_LIMIT';
  constructor(max: number) {
    super(`You already have ${max} courses, the most one account may have`);
    this.name = 'CourseLimitError';
  }
}

/** The user has no course with that id (another user's course is not told apart). */
export class CourseNotFoundError extends Error {
  readonly statusCode = 404;
  readonly code = 'COURSE_NOT_FOUND';
  constructor() {
    super('No such course');
    this.name = 'CourseNotFoundError';
  }
}
