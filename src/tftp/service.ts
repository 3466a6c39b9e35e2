// Placeholder until the TFTP service lands (issue 3): the supervisor imports this factory.
import type { ServiceFactory } from '../supervisor/service.js';

export const createTftpService: ServiceFactory = () => {
  throw new Error('TFTP service not built yet');
};
