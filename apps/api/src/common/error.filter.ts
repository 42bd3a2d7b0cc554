import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import type { ApiError } from '@threadreel/model';

/** Every error leaves as JSON {statusCode, error, message}; unexpected ones are logged, never crash the API. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    let body: ApiError;
    if (exception instanceof HttpException) {
      const r = exception.getResponse();
      const message =
        typeof r === 'string'
          ? r
          : Array.isArray((r as { message?: unknown }).message)
            ? ((r as { message: string[] }).message).join('; ')
            : String((r as { message?: unknown }).message ?? exception.message);
      body = { statusCode: exception.getStatus(), error: exception.name.replace(/Exception$/, ''), message };
    } else {
      this.log.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
      body = { statusCode: 500, error: 'InternalServerError', message: 'internal error; see the server log' };
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(body.statusCode).json(body);
  }
}
