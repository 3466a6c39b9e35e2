// Placeholder until the HTTP service lands (issue 5): the supervisor imports this factory.
import type { ServiceFactory } from '../supervisor/service.js';

export const createHttpService: ServiceFactory = () => {
  throw new Error('HTTP service not built yet');
};
